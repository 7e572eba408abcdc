/// The channels a stream joined in the presence registry, and as whom, so
/// that its close leaves exactly those.
struct PresenceMembership {
    var channels: [String]
    var user: String?
}
