//! The Lua scripts that make the rare writes one atomic step on the Redis server: a create
//! over an old record or with a principal, an id change, a conditional update, a delete, and
//! the principal index's listing and ends. The hot paths are single commands (`GET`,
//! `SET ... NX`, `SET ... XX ... GET`): a script costs Redis far more CPU than the command it
//! wraps (see `BENCHMARKS.md`).
//!
//! Every script judges liveness with the caller's clock (`now`, in milliseconds), read against
//! the `expires_at` in the record header (see [`record`](super::record)), so a record the
//! application considers expired is never updated, moved, or counted as taken, even when
//! Redis's own clock (which only removes keys at `PXAT`) runs behind. Scripts read only the
//! header (`GETRANGE`, 106 bytes), never copy a session's data into Lua, except the listing,
//! which returns the records.
//!
//! Every write script recognises its own earlier effect, so a call whose reply was lost (the
//! connection dropped after the server ran it) can be sent again: a create or a move that
//! finds its own revision in place, a conditional update that finds its own revision, a move
//! that finds its own tombstone, each report success.
//!
//! The principal index is a sorted set per namespace and principal: members are the storage
//! keys (hex) of the principal's records, scores the end of each record's absolute lifetime.
//! Every addition trims the scores that have passed and sets the key's expiry to the highest
//! score, so the set never outlives its last session. A script finds the index of a record
//! from the reference in its header, and builds the key name from the storage's prefix.
//!
//! Scripts run with `EVALSHA`; redis-rs loads a script (`SCRIPT LOAD`, on every primary of a
//! Cluster) the first time a server answers `NOSCRIPT`, for example after a restart. In a
//! Cluster every script touches keys of one hash slot: the record keys of a principal and its
//! index share the principal's tag.

use std::sync::LazyLock;

use redis::Script;

/// The helpers every script starts with.
///
/// * `head(k)`: the first 106 bytes of a value (`''` for a missing key).
/// * `live(v, now)`: whether `v` is a record (format 1 or 2) that has not expired at `now`.
/// * `revision(v)`: the 8 revision bytes of a record (zeros for format 1).
/// * `ref(v)`: the index reference of a record filed under a principal, or `nil`.
/// * `index_key(prefix, tagged, r)`: the key of the index `r` refers to.
/// * `unfile(prefix, tagged, tag, v, member)`: removes record `v` (the value under `member`)
///   from its principal's index; with `tagged`, only an index in the record's own slot (`tag`).
/// * `file(index, member, score, now)`: adds `member`, drops passed scores, and sets the
///   index's expiry to its highest score.
const HELPERS: &str = r"
local function head(k)
  return redis.call('GETRANGE', k, 0, 105)
end
local function is_record(v)
  if not v then return false end
  local f = string.byte(v, 1)
  return (f == 1 and #v >= 17) or (f == 2 and #v >= 42)
end
local function live(v, now)
  if not is_record(v) then return false end
  local e = 0
  for i = 10, 17 do e = e * 256 + string.byte(v, i) end
  return e > now
end
local function revision(v)
  if string.byte(v, 1) == 1 then return string.rep('\0', 8) end
  return string.sub(v, 18, 25)
end
local function ref(v)
  if not is_record(v) or string.byte(v, 1) ~= 2 or string.byte(v, 42) % 2 ~= 1 then
    return nil
  end
  local r = string.sub(v, 43, 106)
  if #r ~= 64 or not string.match(r, '^[0-9a-f]+$') then return nil end
  return r
end
local function index_key(prefix, tagged, r)
  if tagged == '1' then
    return prefix .. '{' .. string.sub(r, 1, 4) .. '}principal:' .. r
  end
  return prefix .. 'principal:' .. r
end
local function unfile(prefix, tagged, tag, v, member)
  local r = ref(v)
  if r and (tagged ~= '1' or string.sub(r, 1, 4) == tag) then
    redis.call('ZREM', index_key(prefix, tagged, r), member)
  end
end
local function file(index, member, score, now)
  redis.call('ZADD', index, score, member)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  local top = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('PEXPIREAT', index, top[2]) end
end
";

fn script(body: &str) -> Script {
    Script::new(&format!("{HELPERS}{body}"))
}

/// `KEYS` = record key, and the principal's index if the record has a principal.
/// `ARGV` = value, expiry (ms), now (ms), revision (8 bytes), prefix, tagged, tag, member,
/// index score (ms).
///
/// Inserts unless a live record holds the key (an old record's index entry goes); 1 if it
/// inserted or finds its own revision in place (a retry), 0 if the key is taken.
pub(super) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local now = tonumber(ARGV[3])
local v = head(KEYS[1])
if live(v, now) then
  if revision(v) == ARGV[4] then return 1 end
  return 0
end
unfile(ARGV[5], ARGV[6], ARGV[7], v, ARGV[8])
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
if KEYS[2] then file(KEYS[2], ARGV[8], ARGV[9], ARGV[3]) end
return 1
",
    )
});

/// `KEYS` = old key, new key (one hash slot), and the new record's principal index if any.
/// `ARGV` = value, expiry (ms), now (ms), revision (8 bytes), prefix, tagged, tag, old member,
/// new member, index score (ms).
///
/// Moves the session if the old record is live and the new key is free, and moves its index
/// entry; 1 if it did or finds its own move done (a retry), 0 if not.
pub(super) static CHANGE_ID: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local now = tonumber(ARGV[3])
local o = head(KEYS[1])
local n = head(KEYS[2])
if not live(o, now) then
  if live(n, now) and revision(n) == ARGV[4] then return 1 end
  return 0
end
if live(n, now) then return 0 end
unfile(ARGV[5], ARGV[6], ARGV[7], o, ARGV[8])
unfile(ARGV[5], ARGV[6], ARGV[7], n, ARGV[9])
redis.call('SET', KEYS[2], ARGV[1], 'PXAT', ARGV[2])
redis.call('DEL', KEYS[1])
if KEYS[3] then file(KEYS[3], ARGV[9], ARGV[10], ARGV[3]) end
return 1
",
    )
});

/// `KEYS[1]` = key; `ARGV` = now (ms), tombstone, tombstone lifetime (ms), prefix, tagged,
/// tag, member. The second half of a move between hash slots.
///
/// Ends the record if it is live (its index entry goes) and leaves the tombstone, which names
/// the move; 1 if it did or finds this very tombstone (a retry), 0 if there was no live record.
pub(super) static TAKE_LIVE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local v = head(KEYS[1])
if not live(v, tonumber(ARGV[1])) then
  if v == ARGV[2] then return 1 end
  return 0
end
unfile(ARGV[4], ARGV[5], ARGV[6], v, ARGV[7])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
",
    )
});

/// `KEYS[1]` = key; `ARGV` = value, expiry (ms), now (ms), expected revision, new revision
/// (8 bytes each), `1` to write only a value naming the record's principal (else `0`).
///
/// 1 if it wrote (or finds its own revision: a retry), 2 if the record has another revision,
/// 0 if there is no live record, 3 (nothing written) if the new value names another principal
/// than the record (an update keeps the principal a record was stored with).
pub(super) static UPDATE_IF: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local v = head(KEYS[1])
if not live(v, tonumber(ARGV[3])) then return 0 end
local r = revision(v)
if r == ARGV[4] then
  if ARGV[6] == '1' and ref(v) ~= ref(ARGV[1]) then return 3 end
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
  return 1
end
if r == ARGV[5] then return 1 end
return 2
",
    )
});

/// `KEYS[1]` = key; `ARGV` = prefix, tagged, tag, member.
///
/// Removes the value and the record's index entry; 1 if there was a value, 0 if there was
/// none or a tombstone (left in place: the session moved on, and the move may be retried).
pub(super) static DELETE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local v = head(KEYS[1])
if #v == 0 then return 0 end
if #v == 9 and string.byte(v, 1) == 254 then return 0 end
unfile(ARGV[1], ARGV[2], ARGV[3], v, ARGV[4])
redis.call('DEL', KEYS[1])
return 1
",
    )
});

/// `KEYS[1]` = the principal's index; `ARGV` = now (ms), the prefix of its record keys, its
/// reference.
///
/// The members and values of the principal's live records, alternating; drops the members
/// whose record is gone or belongs to no one or someone else.
pub(super) static SESSIONS_OF: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local now = tonumber(ARGV[1])
local out = {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')) do
  local v = redis.call('GET', ARGV[2] .. m)
  if ref(v) ~= ARGV[3] then
    redis.call('ZREM', KEYS[1], m)
  elseif live(v, now) then
    out[#out + 1] = m
    out[#out + 1] = v
  end
end
return out
",
    )
});

/// `KEYS[1]` = the principal's index; `ARGV` = member, the prefix of its record keys, its
/// reference.
///
/// Ends the record `member` if it is in the index and belongs to the principal; 1 if it did.
pub(super) static DELETE_OF: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
local k = ARGV[2] .. ARGV[1]
if ref(head(k)) == ARGV[3] then
  redis.call('DEL', k)
  return 1
end
return 0
",
    )
});

/// `KEYS[1]` = the principal's index; `ARGV` = the member to keep (`''` for none), the prefix
/// of its record keys, its reference.
///
/// Ends every record in the index but the one kept; the members of the records it ended.
pub(super) static DELETE_ALL_OF: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local ended = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if m ~= ARGV[1] then
    local k = ARGV[2] .. m
    if ref(head(k)) == ARGV[3] then
      redis.call('DEL', k)
      ended[#ended + 1] = m
    end
    redis.call('ZREM', KEYS[1], m)
  end
end
return ended
",
    )
});
