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
///
/// Presence across nodes (`RedisPresence`), keys under `PREFIX pr:`:
/// `nodes` (zset node → expiry, ms on Redis's clock), `c:CHANNEL` (hash node →
/// connections; the channel is occupied while it has a field), `m:CHANNEL:USER`
/// (hash node → the user's connections there; 0 = within that node's leave
/// grace), `u:CHANNEL` / `d:CHANNEL` (hash user → info JSON or '', and the
/// `{"user","info"}` data of the user's join/leave), `n:NODE` (set of the node's
/// shares, `cCHANNEL` and `uCHANNEL:USER`, for the sweep). Channel names hold
/// no `:`, so the keys are unambiguous.
/// - `ssesrv_presence` KEYS log, origin, nodes; ARGV node, ttl-ms, presence
///   prefix, log-maxlen, channel-maxlen, channel-ttl-s, channel-key-prefix,
///   floor-id, then (channel, user or '', count, info, data) per change: count
///   ≥ 0 sets the node's share, -1 removes it. A user's first share anywhere
///   appends `join` to `presence/CHANNEL` (numbered like `ssesrv_append`), its
///   last share gone appends `leave`; a channel's first/last share is
///   occupied/vacated. Sets the node's expiry to now + ttl. Returns {resync
///   (1: the node was not registered, so it must send its whole share),
///   {name, channel, user or ''}... webhook transitions, the last id or ''}.
/// - `ssesrv_presence_sweep` KEYS log, origin, nodes; ARGV presence prefix,
///   then the append parameters as above. Removes every share of each node
///   whose expiry has passed (same transitions), unregisters it; returns like
///   `ssesrv_presence`. Atomic: one sweeper alone handles a dead node.
/// - `ssesrv_presence_snapshot` KEYS the `presence/CHANNEL` channel stream;
///   ARGV presence prefix, channel. Returns {its newest id or '0',
///   connections, {user, info, connections}...}, all read at one instant.
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

        -- Appends events ({channel, type, data} each) to the log and their
        -- channels' streams, numbered as `ssesrv_append` says; returns the ids.
        local function append_events(log, origin, now, logmax, chmax, ttl, prefix, floor, events)
          local fms, fseq = parse_id(floor)
          local seen = {}
          local ids = {}
          for _, event in ipairs(events) do
            local channel, etype, data = event[1], event[2], event[3]
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
          if #ids > 0 then redis.call('SET', origin, ids[1], 'NX') end
          return ids
        end

        local function append(keys, args)
          local now = now_ms()
          if now > tonumber(args[1]) then
            return redis.error_reply('EXPIRED the deadline passed before Redis ran the append')
          end
          local events = {}
          for i = 7, #args - 2, 3 do events[#events + 1] = {args[i], args[i + 1], args[i + 2]} end
          return append_events(keys[1], keys[2], now, args[2], args[3], tonumber(args[4]), args[5], args[6], events)
        end

        -- Presence: a node's share of a channel (its connections) and of a
        -- user in it (the user's connections on that node, 0 within the leave
        -- grace). `ctx` carries the prefix, the node, and what the call says:
        -- events to append to `presence/CHANNEL`, webhook transitions.
        local function member_key(p, channel, user)
          return p .. 'm:' .. channel .. ':' .. user
        end

        local function hook(ctx, name, channel, user)
          local n = #ctx.hooks
          ctx.hooks[n + 1] = name
          ctx.hooks[n + 2] = channel
          ctx.hooks[n + 3] = user
        end

        local function set_channel(ctx, channel, count)
          local key = ctx.p .. 'c:' .. channel
          local index = ctx.p .. 'n:' .. ctx.node
          if count >= 0 then
            if redis.call('HSET', key, ctx.node, count) == 1 and redis.call('HLEN', key) == 1 then
              hook(ctx, 'channel_occupied', channel, '')
            end
            redis.call('SADD', index, 'c' .. channel)
          else
            if redis.call('HDEL', key, ctx.node) == 1 and redis.call('EXISTS', key) == 0 then
              hook(ctx, 'channel_vacated', channel, '')
            end
            redis.call('SREM', index, 'c' .. channel)
          end
        end

        local function say(ctx, channel, etype, data)
          -- '' when `presence/CHANNEL` is no valid channel name (the node judged).
          if data and data ~= '' then ctx.events[#ctx.events + 1] = {'presence/' .. channel, etype, data} end
        end

        local function set_member(ctx, channel, user, count, info, data)
          local key = member_key(ctx.p, channel, user)
          local index = ctx.p .. 'n:' .. ctx.node
          if count >= 0 then
            local added = redis.call('HSET', key, ctx.node, count)
            redis.call('HSET', ctx.p .. 'u:' .. channel, user, info)
            redis.call('HSET', ctx.p .. 'd:' .. channel, user, data)
            if added == 1 and redis.call('HLEN', key) == 1 then
              say(ctx, channel, 'join', data)
              hook(ctx, 'member_added', channel, user)
            end
            redis.call('SADD', index, 'u' .. channel .. ':' .. user)
          else
            if redis.call('HDEL', key, ctx.node) == 1 and redis.call('EXISTS', key) == 0 then
              local said = redis.call('HGET', ctx.p .. 'd:' .. channel, user)
              redis.call('HDEL', ctx.p .. 'u:' .. channel, user)
              redis.call('HDEL', ctx.p .. 'd:' .. channel, user)
              say(ctx, channel, 'leave', said)
              hook(ctx, 'member_removed', channel, user)
            end
            redis.call('SREM', index, 'u' .. channel .. ':' .. user)
          end
        end

        local function presence(keys, args)
          local now = now_ms()
          local ctx = {p = args[3], node = args[1], events = {}, hooks = {}}
          local resync = 0
          if not redis.call('ZSCORE', keys[3], ctx.node) then resync = 1 end
          for i = 9, #args - 4, 5 do
            local channel, user, count = args[i], args[i + 1], tonumber(args[i + 2])
            if user == '' then
              set_channel(ctx, channel, count)
            else
              set_member(ctx, channel, user, count, args[i + 3], args[i + 4])
            end
          end
          redis.call('ZADD', keys[3], now + tonumber(args[2]), ctx.node)
          local ids = append_events(keys[1], keys[2], now, args[4], args[5], tonumber(args[6]), args[7], args[8], ctx.events)
          return {resync, ctx.hooks, ids[#ids] or ''}
        end

        local function presence_sweep(keys, args)
          local now = now_ms()
          local ctx = {p = args[1], events = {}, hooks = {}}
          for _, node in ipairs(redis.call('ZRANGEBYSCORE', keys[3], '-inf', now)) do
            ctx.node = node
            local index = ctx.p .. 'n:' .. node
            local entries = redis.call('SMEMBERS', index)
            table.sort(entries)
            -- Members before their channels: member_removed, then channel_vacated.
            for _, entry in ipairs(entries) do
              if string.sub(entry, 1, 1) == 'u' then
                local colon = string.find(entry, ':', 2, true)
                set_member(ctx, string.sub(entry, 2, colon - 1), string.sub(entry, colon + 1), -1)
              end
            end
            for _, entry in ipairs(entries) do
              if string.sub(entry, 1, 1) == 'c' then set_channel(ctx, string.sub(entry, 2), -1) end
            end
            redis.call('DEL', index)
            redis.call('ZREM', keys[3], node)
          end
          local ids = append_events(keys[1], keys[2], now, args[2], args[3], tonumber(args[4]), args[5], args[6], ctx.events)
          return {0, ctx.hooks, ids[#ids] or ''}
        end

        local function presence_snapshot(keys, args)
          local p, channel = args[1], args[2]
          local last = redis.call('XREVRANGE', keys[1], '+', '-', 'COUNT', 1)
          local id = '0'
          if #last > 0 then id = last[1][1] end
          local total = 0
          for _, v in ipairs(redis.call('HVALS', p .. 'c:' .. channel)) do total = total + tonumber(v) end
          local users = {}
          local infos = redis.call('HGETALL', p .. 'u:' .. channel)
          for i = 1, #infos, 2 do
            local n = 0
            for _, v in ipairs(redis.call('HVALS', member_key(p, channel, infos[i]))) do n = n + tonumber(v) end
            users[#users + 1] = infos[i]
            users[#users + 1] = infos[i + 1]
            users[#users + 1] = n
          end
          return {id, total, users}
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
        redis.register_function('ssesrv_presence', presence)
        redis.register_function('ssesrv_presence_sweep', presence_sweep)
        redis.register_function{function_name = 'ssesrv_presence_snapshot', callback = presence_snapshot, flags = {'no-writes'}}
        """
}
