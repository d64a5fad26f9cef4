package main

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"strings"
)

// maxPartHeader bounds the headers of one multipart part.
const maxPartHeader = 8 << 10

// formPart is one part of a multipart/form-data body: its form name and its
// content, a slice of the body (nothing is copied).
type formPart struct {
	name string
	data []byte
}

// splitMultipart splits a multipart/form-data body held in memory into its
// parts (RFC 2046 and 7578): the preamble and epilogue are skipped, each
// part's headers (at most maxPartHeader bytes, CRLF line ends) must give a
// Content-Disposition of form-data with a name, and its content is the
// bytes up to the next CRLF and delimiter, sliced from body. At most
// maxParts parts are accepted; the work is linear in len(body), and the
// memory taken is that of the parts' headers, whatever the parts hold.
func splitMultipart(body []byte, boundary string, maxParts int) ([]formPart, error) {
	if boundary == "" || len(boundary) > 70 {
		return nil, errors.New("the Content-Type has no valid boundary (1 to 70 characters)")
	}
	delim := []byte("\r\n--" + boundary)
	// The first delimiter may start the body, without its CRLF.
	pos := 0
	if bytes.HasPrefix(body, delim[2:]) {
		pos = len(delim) - 2
	} else {
		i := bytes.Index(body, delim)
		if i < 0 {
			return nil, errors.New("no boundary found")
		}
		pos = i + len(delim)
	}
	var parts []formPart
	for {
		// After a delimiter: "--" ends the body, else padding and CRLF.
		rest := body[pos:]
		if bytes.HasPrefix(rest, []byte("--")) {
			return parts, nil
		}
		rest = bytes.TrimLeft(rest, " \t")
		if !bytes.HasPrefix(rest, []byte("\r\n")) {
			return nil, errors.New("a boundary is not followed by a line end")
		}
		pos = len(body) - len(rest) + 2
		if len(parts) == maxParts {
			return nil, fmt.Errorf("more than %d parts", maxParts)
		}
		// Headers: up to an empty line.
		head := body[pos:min(len(body), pos+maxPartHeader+4)]
		var hdr []byte
		if bytes.HasPrefix(head, []byte("\r\n")) {
			pos += 2 // no headers
		} else {
			end := bytes.Index(head, []byte("\r\n\r\n"))
			if end < 0 {
				if len(head) > maxPartHeader {
					return nil, fmt.Errorf("part %d: headers larger than %d bytes", len(parts)+1, maxPartHeader)
				}
				return nil, fmt.Errorf("part %d: truncated headers", len(parts)+1)
			}
			hdr = head[:end]
			pos += end + 4
		}
		name, err := formName(hdr)
		if err != nil {
			return nil, fmt.Errorf("part %d: %v", len(parts)+1, err)
		}
		// Content: up to the next delimiter.
		end := bytes.Index(body[pos:], delim)
		if end < 0 {
			return nil, fmt.Errorf("part %s: truncated (no closing boundary)", q(name))
		}
		parts = append(parts, formPart{name: name, data: body[pos : pos+end : pos+end]})
		pos += end + len(delim)
	}
}

// formName returns the form name in a part's headers (its
// Content-Disposition), checking that the content is not in a transfer
// encoding vkdemo does not decode.
func formName(hdr []byte) (string, error) {
	name, found := "", false
	for len(hdr) > 0 {
		line := hdr
		if i := bytes.Index(hdr, []byte("\r\n")); i >= 0 {
			line, hdr = hdr[:i], hdr[i+2:]
		} else {
			hdr = nil
		}
		k, v, ok := strings.Cut(string(line), ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return "", fmt.Errorf("malformed header line %s", q(string(line)))
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "content-disposition":
			if found {
				return "", errors.New("two Content-Disposition headers")
			}
			disp, params, err := mime.ParseMediaType(v)
			if err != nil || disp != "form-data" {
				return "", fmt.Errorf("Content-Disposition %s: want form-data; name=\"...\"", q(v))
			}
			name, found = params["name"], true
		case "content-transfer-encoding":
			switch strings.ToLower(v) {
			case "binary", "8bit", "7bit":
			default:
				return "", fmt.Errorf("Content-Transfer-Encoding %s is not supported: send the bytes as they are (binary)", q(v))
			}
		}
	}
	if name == "" {
		return "", errors.New("no form name (Content-Disposition: form-data; name=\"...\")")
	}
	return name, nil
}
