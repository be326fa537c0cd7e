package session

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/resolve.lua
var resolveScriptSrc string

// resolveScript reads what Resolve needs in one round trip. KEYS: the
// operator's and the device's cutoffs, the device's session index. ARGV:
// the sliding TTL in seconds, the session key prefix, the X-Session-Id
// ("" when absent). The session key is derived from the index's value,
// which is why it is built here (Memorystore is not a cluster).
var resolveScript = redis.NewScript(resolveScriptSrc)

//go:embed lua/compare_and_set.lua
var compareAndSetSrc string

// compareAndSet sets KEYS[1] to ARGV[2] (for ARGV[3] seconds) only while
// it still holds ARGV[1]; it returns 1 when it did.
var compareAndSet = redis.NewScript(compareAndSetSrc)

//go:embed lua/compare_and_delete.lua
var compareAndDeleteSrc string

// compareAndDelete deletes KEYS[1] only while it still holds ARGV[1].
var compareAndDelete = redis.NewScript(compareAndDeleteSrc)

//go:embed lua/max_cutoff.lua
var maxCutoffSrc string

// maxCutoff keeps the latest cutoff of KEYS[1]: ARGV[1] (ms) with reason
// ARGV[2] replaces it when later, or when as late and a revocation (which
// outranks a sign-out); the TTL is reset to ARGV[3] seconds.
var maxCutoff = redis.NewScript(maxCutoffSrc)
