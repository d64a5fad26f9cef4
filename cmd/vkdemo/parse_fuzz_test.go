package main

import (
	"bytes"
	"encoding/binary"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"unsafe"
)

// The fuzz targets of the parsers of outside bytes: the job JSON and
// multipart bodies (parseJob) and the HTTP front (serve_http_fuzz_test.go).
// Their seeds, the attacks of issue 12 among them, run with every go test.
// FuzzNPY, of .npy files, is in package npy; those of the flag-style values
// (FuzzPush, FuzzSpec, FuzzBind, FuzzSize) in package job.

// npyBytes builds a .npy file: a version 1.0 header around dict, then body.
func npyBytes(dict string, body []byte) []byte {
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)))
	return append(append(b, dict...), body...)
}

// parseServer is a server for the parser: no device (no device limits
// checked), no --out, a small --max-request.
func parseServer() *server {
	return &server{cfg: serveConfig{maxRequest: 1 << 20, maxJobs: 2, maxQueue: 4}}
}

// jsonRequest is a request whose body is the job JSON.
func parsedJSON(body []byte) *request {
	req, _ := http.NewRequest("POST", "/jobs", nil)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = int64(len(body))
	return &request{req: req, body: body, bodyRead: true}
}

// multipartRequest is a multipart request of body with boundary.
func parsedMultipart(body []byte, boundary string) *request {
	req, _ := http.NewRequest("POST", "/jobs", nil)
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	req.ContentLength = int64(len(body))
	return &request{req: req, body: body, bodyRead: true}
}

// checkParsed checks what parseJob made of a request: an error of a
// 4xx status with a bounded message, or a job within the caps.
func checkParsed(t *testing.T, j *parsedJob, herr *httpError) {
	t.Helper()
	if herr != nil {
		if herr.status != 400 && herr.status != 413 {
			t.Fatalf("status %d: %s", herr.status, herr.msg)
		}
		if n := len(publicMessage(herr.msg)); n > maxMessage+len("…") {
			t.Fatalf("error message of %d bytes", n)
		}
		return
	}
	if len(j.job.Push) > maxPushBytes || len(j.job.Spec) > maxSpecConstants || len(j.job.Bind) > maxBindings+maxParts {
		t.Fatalf("caps passed: %d push values, %d spec constants, %d bindings", len(j.job.Push), len(j.job.Spec), len(j.job.Bind))
	}
	if j.spec.Iterations < 1 || j.spec.Iterations > maxIterations {
		t.Fatalf("iterations %d", j.spec.Iterations)
	}
	saved := map[string]bool{}
	for _, p := range j.save {
		if saved[p] {
			t.Fatalf("two bindings saved to %s", p)
		}
		saved[p] = true
	}
}

func FuzzJobJSON(f *testing.F) {
	for _, s := range []string{
		`{"kernel":"saxpy","bind":{"0":"iota:8","1":"ones"},"push":"f32:2,u32:8"}`,
		`{"kernel":"reduce","bind":{"0":"iota:1024","1":"zeros:4"},"push":"u32:1024","groups":[1,1,1]}`,
		`{"kernel":"julia","bind":{"0":"zeros:4096"},"grid":"64,64","push":"u32:64,u32:64,f32:-2,f32:-2,f32:0.06,f32:0.06,f32:-0.8,f32:0.156,u32:64,u32:1","spec":{"0":8,"1":"u32:8"}}`,
		`{"kernel":"saxpy","bind":{"0":"iota:8"},"push":"f32:2,u32:8","save":{"0":"a.npy","1":"a.npy"}}`,
		`{"kernel":"saxpy","spec":{"0":1,"0":2}}`,
		`{"kernel":"saxpy","spec":{"0":"1,1=2"}}`,
		`{"kernel":"saxpy","spec":{"0":[1,2]}}`,
		`{"kernel":"saxpy","bind":{"0":"file:/dev/zero"}}`,
		`{"kernel":"saxpy","bind":{"0":"rand:1G"},"push":"f32:2,u32:1"}`,
		`{"kernel":"saxpy","iterations":1000000}`,
		`{"kernel":"saxpy","groups":[1,2,3,4]}`,
		`{"kernel":"saxpy","push":"` + strings.Repeat("u8:1,", 1100) + `u8:1"}`,
		`{"kernel":"saxpy","` + strings.Repeat("a", 1000) + `":1}`,
		strings.Repeat("[", 100) + strings.Repeat("]", 100),
		`{"kernel":"saxpy","bind":` + strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat("}", 100) + `}`,
		`{"kernel":"saxpy"} {"kernel":"saxpy"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, herr := parseServer().parseJob(parsedJSON(data))
		checkParsed(t, j, herr)
	})
}

// multipartBody builds a multipart body of parts (name, content) in order.
func multipartBody(boundary string, parts ...[2]string) []byte {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.SetBoundary(boundary)
	for _, p := range parts {
		w, _ := mw.CreateFormFile(p[0], p[0]+".bin")
		_, _ = w.Write([]byte(p[1]))
	}
	_ = mw.Close()
	return b.Bytes()
}

func FuzzMultipart(f *testing.F) {
	const bd = "XyZ"
	x := string(f32Bytes([]float32{1, 2, 3, 4}))
	f.Add(multipartBody(bd, [2]string{"job", `{"kernel":"saxpy","push":"f32:2,u32:4"}`}, [2]string{"binding0", x}, [2]string{"binding1", x}), bd)
	f.Add(multipartBody(bd, [2]string{"job", `{"push":"f32:2,u32:4"}`}, [2]string{"spirv", "\x03\x02\x23\x07"}, [2]string{"binding0", x}), bd)
	// Duplicate parts (issue 12: the last one silently won).
	f.Add(multipartBody(bd, [2]string{"job", `{"kernel":"saxpy","push":"f32:2,u32:4"}`}, [2]string{"binding0", x}, [2]string{"binding0", x}), bd)
	f.Add(multipartBody(bd, [2]string{"job", `{"kernel":"saxpy"}`}, [2]string{"job", `{"kernel":"reduce"}`}), bd)
	f.Add(multipartBody(bd, [2]string{"binding01", x}, [2]string{"binding1", x}), bd)
	f.Add(multipartBody(bd, [2]string{"binding0", string(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000,), }\n", []byte(x)))}), bd)
	f.Add([]byte("--XyZ\r\nContent-Disposition: form-data; name=\"job\"\r\n\r\n{}\r\n--XyZ"), bd)
	f.Add([]byte("preamble\r\n--XyZ  \r\n\r\n\r\n--XyZ--\r\n"), bd)
	f.Add([]byte("--XyZ\r\nContent-Disposition: form-data; name=\"job\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n--XyZ--"), bd)
	f.Add([]byte("--XyZ\r\n"+strings.Repeat("X-A: b\r\n", 1200)+"\r\n\r\n--XyZ--"), bd)
	f.Add(multipartBody(bd, [2]string{"job", "{}"}), "")
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		parts, err := splitMultipart(body, boundary, maxParts)
		if err == nil {
			total := 0
			for _, p := range parts {
				total += len(p.data)
				if len(p.data) > 0 {
					off := uintptr(unsafe.Pointer(unsafe.SliceData(p.data))) - uintptr(unsafe.Pointer(unsafe.SliceData(body)))
					if off > uintptr(len(body)) {
						t.Fatalf("part %q is not a slice of the body", p.name)
					}
				}
			}
			if len(parts) > maxParts || total > len(body) {
				t.Fatalf("%d parts of %d bytes from %d", len(parts), total, len(body))
			}
			// The standard library's reader finds the same parts.
			if mr := multipart.NewReader(bytes.NewReader(body), boundary); len(parts) > 0 {
				for i := 0; ; i++ {
					p, err := mr.NextRawPart()
					if err != nil {
						break // it is stricter or looser elsewhere; only agreement is checked
					}
					var b bytes.Buffer
					if _, err := b.ReadFrom(p); err != nil || i >= len(parts) {
						break
					}
					if p.FormName() != parts[i].name || !bytes.Equal(b.Bytes(), parts[i].data) {
						t.Fatalf("part %d: %q of %d bytes; mime/multipart: %q of %d bytes", i, parts[i].name, len(parts[i].data), p.FormName(), b.Len())
					}
				}
			}
		} else if len(err.Error()) > 1024 { // each of its quotes of the input at most 64 bytes, 4x as \xNN escapes
			t.Fatalf("error of %d bytes", len(err.Error()))
		}
		j, herr := parseServer().parseJob(parsedMultipart(body, boundary))
		checkParsed(t, j, herr)
	})
}
