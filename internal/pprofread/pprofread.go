// Package pprofread decodes a gzipped pprof profile (profile.proto) just far
// enough for vkio's tests to check what its profiles hold: the string table,
// the number of samples, and the samples counted by string label. It exists
// so that the tests of tasks (labels on pipeline stages) and of vkdemo (the
// --cpuprofile flag) share one reader instead of depending on
// github.com/google/pprof for it.
package pprofread

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// Profile is what Read decodes of a profile.
type Profile struct {
	Strings []string       // the string table
	Samples int            // the number of samples
	Labels  map[string]int // samples by string label, as "key=value"
}

// Read decodes a gzipped profile.proto.
func Read(gz []byte) (*Profile, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("not a gzipped profile: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	p := &Profile{Labels: map[string]int{}}
	type label struct{ key, str uint64 }
	var labels []label
	err = protoFields(raw, func(field int, _ uint64, b []byte) error {
		switch field {
		case 2: // Sample
			p.Samples++
			return protoFields(b, func(f int, _ uint64, lb []byte) error {
				if f != 3 { // Label
					return nil
				}
				var l label
				err := protoFields(lb, func(f int, v uint64, _ []byte) error {
					switch f {
					case 1:
						l.key = v
					case 2:
						l.str = v
					}
					return nil
				})
				labels = append(labels, l)
				return err
			})
		case 6: // string_table
			p.Strings = append(p.Strings, string(b))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, l := range labels {
		if l.key >= uint64(len(p.Strings)) || l.str >= uint64(len(p.Strings)) {
			return nil, errors.New("label index out of the string table")
		}
		if l.str != 0 { // 0: a numeric label
			p.Labels[p.Strings[l.key]+"="+p.Strings[l.str]]++
		}
	}
	return p, nil
}

// protoFields calls fn for each field of the protobuf message b: varints
// with v, length-delimited fields with b (packed fields are passed as bytes).
func protoFields(b []byte, fn func(field int, v uint64, b []byte) error) error {
	varint := func() (uint64, error) {
		var x uint64
		for s := uint(0); s < 64; s += 7 {
			if len(b) == 0 {
				return 0, errors.New("truncated varint")
			}
			c := b[0]
			b = b[1:]
			x |= uint64(c&0x7f) << s
			if c < 0x80 {
				return x, nil
			}
		}
		return 0, errors.New("varint too long")
	}
	for len(b) > 0 {
		key, err := varint()
		if err != nil {
			return err
		}
		field, wire := int(key>>3), key&7
		switch wire {
		case 0:
			v, err := varint()
			if err != nil {
				return err
			}
			if err := fn(field, v, nil); err != nil {
				return err
			}
		case 1, 5:
			n := 8
			if wire == 5 {
				n = 4
			}
			if len(b) < n {
				return errors.New("truncated fixed field")
			}
			b = b[n:]
		case 2:
			n, err := varint()
			if err != nil {
				return err
			}
			if n > uint64(len(b)) {
				return errors.New("truncated bytes field")
			}
			if err := fn(field, 0, b[:n]); err != nil {
				return err
			}
			b = b[n:]
		default:
			return fmt.Errorf("wire type %d", wire)
		}
	}
	return nil
}
