package upstream

import (
	"crypto/sha256"
	"encoding/hex"
)

// RequestID is the idempotency key a proxied mutation sends upstream,
// derived from the caller's Idempotency-Key and who sent it, so that a
// retried request reaches the upstream under the same key (and is
// performed there once) while two devices' keys never meet. ns keeps the
// keys of different upstream mutations apart; "" is the door-key form,
// which predates the namespaces and stays as it is.
func RequestID(ns, tenantID, deviceID, key string) string {
	s := tenantID + "\x00" + deviceID + "\x00" + key
	if ns != "" {
		s = ns + "\x00" + s
	}
	sum := sha256.Sum256([]byte(s))
	return "bff-" + hex.EncodeToString(sum[:16])
}
