/// The Redis FUNCTION library `ssesrv` (Lua; Redis 7.0 or newer), loaded with
/// `FUNCTION LOAD REPLACE` at start and again whenever Redis has lost it.
/// Functions persist with the data set (unlike `EVALSHA`'s cache).
///
/// Keys: `PREFIX log` is one stream of every event (fields channel, type,
/// data); `PREFIX ch:CHANNEL` is a stream per channel (fields type, data)
/// holding the same ids; `PREFIX origin` is the id of the first event this
/// data set ever took, so an id from before Redis was emptied is recognised.
///
/// - `ssesrv_append` KEYS log, origin; ARGV deadline-ms, log-maxlen,
///   channel-maxlen, channel-ttl-s, channel-key-prefix, floor-id, then
///   (channel, type, data) per event. Refuses with `EXPIRED` when Redis's own
///   clock is past the deadline, so a write that waited in a stalled Redis is
///   dropped rather than applied after the publisher gave up. Each event gets
///   an id from `XADD *` on the log, or, when the floor (the caller's highest
///   id seen) or the channel's newest id is at or ahead of Redis's clock, the
///   next id after it: ids never go backwards, even after an emptied Redis or
///   with a Redis clock behind the nodes'. The channel stream gets the same
///   id; both are trimmed with `MAXLEN ~`; the channel key's expiry is renewed
///   (an idle channel's key goes away after the TTL). Returns the ids.
/// - `ssesrv_history` KEYS channel, origin; ARGV after-id, count, channel-ttl-s.
///   Returns {complete 0/1, "", entries after the id}. Not complete: the id is
///   older than the data set (Redis was emptied), or older than the stream's
///   first entry after trimming, or the channel's key may have expired since
///   (a channel key created at time T marks ids before T - TTL as such).
/// - `ssesrv_logstate` KEYS log, origin; ARGV cursor. Returns {complete 0/1,
///   "", restart-from id or ""}: whether the log still holds everything after
///   the cursor; restart from `0` when the log never reached the cursor (a
///   new data set). (The middle element is kept for a lost-through id; trimming
///   with `MAXLEN ~` does not record one.)
enum EventLogFunctions {
    static let libraryName = "ssesrv"

    static let source = """
        #!lua name=ssesrv

        local function parse_id(s)
          local dash = string.find(s, '-', 1, true)
          if not dash then return tonumber(s), 0 end
          return tonumber(string.sub(s, 1, dash - 1)), tonumber(string.sub(s, dash + 1))
        end

        local function less(ams, aseq, bms, bseq)
          return ams < bms or (ams == bms and aseq < bseq)
        end

        local function fmt(ms, seq)
          return string.format('%d-%d', ms, seq)
        end

        local function now_ms()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end

        local function newest(key)
          local r = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
          if #r == 0 then return {0, 0} end
          local ms, seq = parse_id(r[1][1])
          return {ms, seq}
        end

        local function stream_info(key)
          local info = redis.call('XINFO', 'STREAM', key)
          local fields = {}
          for i = 1, #info, 2 do fields[info[i]] = info[i + 1] end
          return fields
        end

        -- Whether entries after the id may have been trimmed away. Trimming
        -- removes the oldest entries (nothing else deletes), so what is gone
        -- is older than the first entry left; an id before that first entry
        -- may have missed some (or, at the exact boundary, none: reported
        -- as a gap all the same, never a silent loss).
        local function trimmed_after(info, ms, seq)
          local dms, dseq = parse_id(info['max-deleted-entry-id'])
          if less(ms, seq, dms, dseq) then return true end
          if tonumber(info['entries-added']) <= tonumber(info['length']) then return false end
          local fms, fseq = parse_id(info['recorded-first-entry-id'])
          return less(ms, seq, fms, fseq) and not (ms == fms and seq + 1 == fseq)
        end

        local function append(keys, args)
          local now = now_ms()
          if now > tonumber(args[1]) then
            return redis.error_reply('EXPIRED the deadline passed before Redis ran the append')
          end
          local log, logmax, chmax, ttl, prefix = keys[1], args[2], args[3], tonumber(args[4]), args[5]
          local fms, fseq = parse_id(args[6])
          local seen = {}
          local ids = {}
          for i = 7, #args - 2, 3 do
            local channel, etype, data = args[i], args[i + 1], args[i + 2]
            local key = prefix .. channel
            local last = seen[key]
            local created = false
            if last == nil then
              last = newest(key)
              created = last[1] == 0 and last[2] == 0
            end
            local bms, bseq = fms, fseq
            if less(bms, bseq, last[1], last[2]) then bms, bseq = last[1], last[2] end
            local id = nil
            if bms >= now then
              id = redis.pcall('XADD', log, 'MAXLEN', '~', logmax, fmt(bms, bseq + 1), 'channel', channel, 'type', etype, 'data', data)
              if type(id) == 'table' then id = nil end
            end
            if id == nil then
              id = redis.call('XADD', log, 'MAXLEN', '~', logmax, '*', 'channel', channel, 'type', etype, 'data', data)
            end
            redis.call('XADD', key, 'MAXLEN', '~', chmax, id, 'type', etype, 'data', data)
            if created then
              -- A channel key made now may replace one that expired: its events
              -- were at least a TTL old when it did, so ids older than that may
              -- have missed some. Recorded as the stream's max deleted id.
              local mark = now - ttl * 1000
              if mark > 0 then redis.call('XSETID', key, id, 'MAXDELETEDID', fmt(mark, 0)) end
            end
            redis.call('EXPIRE', key, ttl)
            local ms, seq = parse_id(id)
            seen[key] = {ms, seq}
            fms, fseq = ms, seq
            ids[#ids + 1] = id
          end
          if #ids > 0 then redis.call('SET', keys[2], ids[1], 'NX') end
          return ids
        end

        local function history(keys, args)
          local ams, aseq = parse_id(args[1])
          local from_start = ams == 0 and aseq == 0
          if not from_start then
            local origin = redis.call('GET', keys[2])
            if not origin then return {0, '', {}} end
            local oms, oseq = parse_id(origin)
            if less(ams, aseq, oms, oseq) then return {0, '', {}} end
          end
          if redis.call('EXISTS', keys[1]) == 0 then
            if from_start or ams > now_ms() - tonumber(args[3]) * 1000 then return {1, '', {}} end
            return {0, '', {}}
          end
          local complete = 1
          if not from_start and trimmed_after(stream_info(keys[1]), ams, aseq) then complete = 0 end
          local entries = redis.call('XRANGE', keys[1], '(' .. fmt(ams, aseq), '+', 'COUNT', tonumber(args[2]))
          return {complete, '', entries}
        end

        local function logstate(keys, args)
          local cms, cseq = parse_id(args[1])
          local from_start = cms == 0 and cseq == 0
          if redis.call('EXISTS', keys[1]) == 0 then
            if from_start then return {1, '', ''} end
            return {0, '', '0-0'}
          end
          local info = stream_info(keys[1])
          if not from_start then
            local lms, lseq = parse_id(info['last-generated-id'])
            if less(lms, lseq, cms, cseq) then return {0, '', '0-0'} end
            local origin = redis.call('GET', keys[2])
            if origin then
              local oms, oseq = parse_id(origin)
              if less(cms, cseq, oms, oseq) then return {0, '', ''} end
            end
          end
          if trimmed_after(info, cms, cseq) then return {0, '', ''} end
          return {1, '', ''}
        end

        redis.register_function('ssesrv_append', append)
        redis.register_function{function_name = 'ssesrv_history', callback = history, flags = {'no-writes'}}
        redis.register_function{function_name = 'ssesrv_logstate', callback = logstate, flags = {'no-writes'}}
        """
}
