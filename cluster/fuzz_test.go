package cluster

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

// FuzzValidateID: ValidateID accepts exactly 1..MaxIDLen bytes of
// [A-Za-z0-9_-], so an accepted ID is one subject token.
func FuzzValidateID(f *testing.F) {
	for _, s := range []string{"", "a", "job-001", "01JABCDEFGHJKMNPQRSTVWXYZ0", "a.b", "a b", "*", ">", "é", strings.Repeat("x", MaxIDLen), strings.Repeat("x", MaxIDLen+1), "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := ValidateID(id)
		ok := len(id) >= 1 && len(id) <= MaxIDLen
		for i := 0; i < len(id); i++ {
			c := id[i]
			ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-')
		}
		if ok != (err == nil) {
			t.Fatalf("ValidateID(%q) = %v, want ok=%v", id, err, ok)
		}
		if err != nil && !errors.Is(err, ErrBadID) {
			t.Fatalf("ValidateID(%q) = %v, not ErrBadID", id, err)
		}
		if err == nil && len(strings.Split(testCfg.jobSubject(id), ".")) != 3 {
			t.Fatalf("ID %q makes subject %q", id, testCfg.jobSubject(id))
		}
	})
}

var testCfg, _ = Config{Prefix: "f", MaxBodySize: 1 << 16}.withDefaults()

// FuzzDecodeJob: a job message read from the stream either decodes into a
// consistent job or fails with ErrBadMessage / ErrTooLarge; never a panic.
func FuzzDecodeJob(f *testing.F) {
	f.Add("f.jobs.a", "a", "application/json", "", "", []byte(`{"x":1}`))
	f.Add("f.jobs.a", "a", "multipart/form-data; boundary=x", "in/a", "70000", []byte{})
	f.Add("f.jobs.a", "a", "", "in/a", "12", []byte{})
	f.Add("f.jobs.a", "a", "", "in/b", "12", []byte{})
	f.Add("f.jobs.a", "a", "", "in/a", "-1", []byte{})
	f.Add("f.jobs.a", "a", "", "in/a/01KBN3", "12", []byte{})
	f.Add("f.jobs.a", "a", "", "in/a/x/y", "12", []byte{})
	f.Add("f.jobs.a", "a", "", "in/a/", "12", []byte{})
	f.Add("f.jobs.b", "a", "", "", "", []byte{})
	f.Add("f.jobs.a.b", "a.b", "", "", "", []byte{})
	f.Add("f.jobs.a", "a", "x\ny", "", "", []byte{})
	f.Fuzz(func(t *testing.T, subject, msgID, ct, obj, size string, data []byte) {
		hdr := nats.Header{}
		for k, v := range map[string]string{hdrMsgID: msgID, hdrContentType: ct, hdrBodyObject: obj, hdrBodySize: size} {
			if v != "" {
				hdr.Set(k, v)
			}
		}
		w, err := decodeJob(testCfg, subject, hdr, data)
		if err != nil {
			if !errors.Is(err, ErrBadMessage) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v is neither ErrBadMessage nor ErrTooLarge", err)
			}
			return
		}
		if ValidateID(w.ID) != nil || subject != testCfg.jobSubject(w.ID) || validateContentType(w.ContentType) != nil {
			t.Fatalf("accepted %+v from subject %q", w, subject)
		}
		if w.Size < 0 || w.Size > testCfg.MaxBodySize {
			t.Fatalf("accepted size %d", w.Size)
		}
		if w.Object != "" && (len(w.Body) != 0 || !strings.HasPrefix(w.Object, "in/"+w.ID+"/") || ValidateID(strings.TrimPrefix(w.Object, "in/"+w.ID+"/")) != nil) {
			t.Fatalf("accepted %+v: an inline body and an object, or a foreign object", w)
		}
		if w.Object == "" && w.Size != int64(len(w.Body)) {
			t.Fatalf("accepted %+v: inline size mismatch", w)
		}
	})
}

// FuzzDecodeResult: a result record either decodes for the asked ID with a
// known status, or fails with ErrBadMessage.
func FuzzDecodeResult(f *testing.F) {
	f.Add("a", []byte(`{"id":"a","status":"ok","data":{"sum":3},"deliveries":1,"finished":"2026-01-01T00:00:00Z"}`))
	f.Add("a", []byte(`{"id":"a","status":"dead-letter","error":"boom","deliveries":5}`))
	f.Add("a", []byte(`{"id":"b","status":"ok"}`))
	f.Add("a", []byte(`{"id":"a","status":"maybe"}`))
	f.Add("a", []byte(`{"id":"a","status":"ok","outputs":{"x":{"bucket":"b","name":"out/a/x","size":3}}}`))
	f.Add("a", []byte(`[`))
	f.Fuzz(func(t *testing.T, id string, data []byte) {
		r, err := decodeResult(id, data)
		if err != nil {
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("error %v is not ErrBadMessage", err)
			}
			return
		}
		if r.ID != id {
			t.Fatalf("result for %q decoded as %q", id, r.ID)
		}
		if (r.Err() == nil) != (r.Status == StatusOK) {
			t.Fatalf("status %q but Err() = %v", r.Status, r.Err())
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", r, err)
		}
		if _, err := decodeResult(id, again); err != nil {
			t.Fatalf("re-decoding %s: %v", again, err)
		}
	})
}

// FuzzParseAttempts: an attempts record read from the server either parses
// into a non-negative count and valid run IDs that encode back to the same
// record, or is refused; never a panic.
func FuzzParseAttempts(f *testing.F) {
	f.Add([]byte("0"))
	f.Add([]byte("2 01KBN3ZQ5V7Y4GRM0T6X2W8E9A 01KBN3ZQ5V7Y4GRM0T6X2W8E9B"))
	f.Add([]byte("-1"))
	f.Add([]byte("1 a.b"))
	f.Add([]byte("99999999999999999999"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, ok := parseAttempts(data)
		if !ok {
			if a.n != 0 || a.runs != nil {
				t.Fatalf("refused %q but returned %+v", data, a)
			}
			return
		}
		if a.n < 0 || a.n > 1<<30 {
			t.Fatalf("count %d from %q", a.n, data)
		}
		for _, r := range a.runs {
			if ValidateID(r) != nil {
				t.Fatalf("run %q from %q", r, data)
			}
		}
		b, ok := parseAttempts(a.encode())
		if !ok || b.n != a.n || len(b.runs) != len(a.runs) {
			t.Fatalf("%+v re-encoded as %q parsed as %+v", a, a.encode(), b)
		}
	})
}
