//! The Lua scripts that make the rare writes (a create over an old record, an id change) one
//! atomic step on the Redis server. The common writes are single commands (`SET ... NX`,
//! `SET ... XX ... GET`, `DEL`): a script costs Redis far more CPU than the command it wraps.
//!
//! Every script judges liveness with the caller's clock (`now`, in milliseconds), read against
//! the `expires_at` in the record header (see [`record`](super::record)), so a record the
//! application considers expired is never updated, moved, or counted as taken, even when
//! Redis's own clock (which only removes keys at `PXAT`) runs behind.
//!
//! Scripts run with `EVALSHA`; redis-rs loads a script (`SCRIPT LOAD`, on every primary of a
//! Cluster) the first time a server answers `NOSCRIPT`, for example after a restart.

use std::sync::LazyLock;

use redis::Script;

/// `live(value, now)`: whether a stored value is a record that has not expired at `now`.
/// Values of another format count as not live, so they can be replaced. `head(key)` reads only
/// the record header (version, created, expires: 17 bytes), so a check never copies the
/// session's payload into Lua; a missing key reads as an empty string (not live).
const LIVE: &str = r"
local function head(k)
  return redis.call('GETRANGE', k, 0, 16)
end
local function live(v, now)
  if not v or #v < 17 or string.byte(v, 1) ~= 1 then return false end
  local e = 0
  for i = 10, 17 do e = e * 256 + string.byte(v, i) end
  return e > now
end
";

fn script(body: &str) -> Script {
    Script::new(&format!("{LIVE}{body}"))
}

/// `KEYS[1]` = key; `ARGV` = value, expiry (ms), now (ms). Inserts unless a live record holds
/// the key; 1 if it inserted, 0 if not.
pub(super) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if live(head(KEYS[1]), tonumber(ARGV[3])) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
return 1
",
    )
});

/// `KEYS` = old key, new key (one hash slot); `ARGV` = value, expiry (ms), now (ms). Moves the
/// session if the old record is live and the new key is free; 1 if it did, 0 if not.
pub(super) static CHANGE_ID: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local now = tonumber(ARGV[3])
if not live(head(KEYS[1]), now) then return 0 end
if live(head(KEYS[2]), now) then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PXAT', ARGV[2])
redis.call('DEL', KEYS[1])
return 1
",
    )
});

/// `KEYS[1]` = key; `ARGV` = now (ms). Deletes the record if it is live; 1 if it did, 0 if
/// there was no live record. The second half of a move between hash slots.
pub(super) static TAKE_LIVE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if not live(head(KEYS[1]), tonumber(ARGV[1])) then return 0 end
redis.call('DEL', KEYS[1])
return 1
",
    )
});
