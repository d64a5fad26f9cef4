package cluster

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// MaxIDLen is the longest job ID accepted.
const MaxIDLen = 128

// ValidateID checks a job ID: 1 to MaxIDLen bytes of [A-Za-z0-9_-]. IDs become
// subject tokens, message IDs and object names, so nothing else is allowed.
// The error wraps ErrBadID.
func ValidateID(id string) error {
	if id == "" {
		return &Error{Op: "validate id", Err: fmt.Errorf("%w: empty", ErrBadID)}
	}
	if len(id) > MaxIDLen {
		return &Error{Op: "validate id", Err: fmt.Errorf("%w: %d bytes, the limit is %d", ErrBadID, len(id), MaxIDLen)}
	}
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) {
			return &Error{Op: "validate id", Err: fmt.Errorf("%w: byte %#02x at offset %d (allowed: A-Z a-z 0-9 _ -)", ErrBadID, id[i], i)}
		}
	}
	return nil
}

func idByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// crockford is Crockford's base32 alphabet, in ASCII order, so that encoded
// IDs sort like the bytes they encode.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var idState struct {
	sync.Mutex
	ms   uint64
	rand [10]byte
}

// NewID returns a new job ID: 26 characters (a ULID: 48 bits of Unix
// milliseconds then 80 random bits, Crockford base32). IDs from one process
// sort by creation order (within a millisecond the random part is
// incremented); IDs from different processes sort by time to the millisecond.
func NewID() string {
	now := uint64(time.Now().UnixMilli())
	idState.Lock()
	if now <= idState.ms {
		now = idState.ms
		// Increment the 80-bit random part; on the (2^-80) overflow, bump the time.
		i := len(idState.rand) - 1
		for ; i >= 0; i-- {
			idState.rand[i]++
			if idState.rand[i] != 0 {
				break
			}
		}
		if i < 0 {
			now++
		}
	} else {
		if _, err := rand.Read(idState.rand[:]); err != nil {
			panic("cluster: crypto/rand failed: " + err.Error()) // crypto/rand never fails on supported platforms
		}
	}
	idState.ms = now
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], now<<16)
	copy(b[6:], idState.rand[:])
	idState.Unlock()
	return encodeULID(b)
}

func encodeULID(b [16]byte) string {
	// 128 bits -> 26 base32 digits; the first digit holds the top 3 bits.
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
