package npy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// dict is the dict of a .npy header.
type dict struct {
	descr   string
	fortran bool
	shape   []int64
}

// parseDict parses the Python literal of a .npy header: a dict with the
// keys 'descr' (a string), 'fortran_order' (True or False) and 'shape' (a
// tuple of integers), each once, then only spaces and a newline.
func parseDict(h string) (dict, error) {
	var d dict
	p := &pyLit{s: h}
	if !p.eat('{') {
		return d, errors.New("does not start with a dict")
	}
	seen := map[string]bool{}
	for {
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return d, fmt.Errorf("key: %v", err)
		}
		if seen[key] {
			return d, fmt.Errorf("key %s given twice", q(key))
		}
		seen[key] = true
		if !p.eat(':') {
			return d, fmt.Errorf("no ':' after key %s", q(key))
		}
		switch key {
		case "descr":
			if d.descr, err = p.str(); err != nil {
				return d, fmt.Errorf("descr: %v", err)
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				d.fortran = true
			case p.word("False"):
			default:
				return d, errors.New("fortran_order is not True or False")
			}
		case "shape":
			if d.shape, err = p.shape(); err != nil {
				return d, fmt.Errorf("shape: %v", err)
			}
		default:
			return d, fmt.Errorf("unknown key %s (want descr, fortran_order and shape)", q(key))
		}
		if p.eat(',') {
			continue
		}
		if !p.eat('}') {
			return d, errors.New("want ',' or '}' after a value")
		}
		break
	}
	if len(seen) != 3 {
		return d, errors.New("want the keys descr, fortran_order and shape")
	}
	p.space()
	if p.i != len(p.s) {
		return d, errors.New("data after the dict")
	}
	return d, nil
}

// pyLit scans the Python literals of a .npy header.
type pyLit struct {
	s string
	i int
}

func (p *pyLit) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t' || p.s[p.i] == '\r') {
		p.i++
	}
}

// eat skips spaces and c, if c is next.
func (p *pyLit) eat(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// word skips spaces and w, if w is next as a whole word.
func (p *pyLit) word(w string) bool {
	p.space()
	if !strings.HasPrefix(p.s[p.i:], w) {
		return false
	}
	if j := p.i + len(w); j < len(p.s) && (isAlnum(p.s[j]) || p.s[j] == '_') {
		return false
	}
	p.i += len(w)
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// str scans a quoted string without escapes (all that descrs and keys are).
func (p *pyLit) str() (string, error) {
	p.space()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", errors.New("want a quoted string")
	}
	quote := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], quote)
	if end < 0 {
		return "", errors.New("unterminated string")
	}
	s := p.s[p.i+1 : p.i+1+end]
	if strings.IndexByte(s, '\\') >= 0 || strings.IndexByte(s, '\n') >= 0 {
		return "", fmt.Errorf("unexpected character in string %s", q(s))
	}
	p.i += end + 2
	return s, nil
}

// shape scans a tuple of at most MaxDims non-negative integers: (),
// (5,), (2, 3). Python 2's long suffix (5L) is accepted, as numpy does.
func (p *pyLit) shape() ([]int64, error) {
	if !p.eat('(') {
		return nil, errors.New("not a tuple")
	}
	var dims []int64
	for {
		if p.eat(')') { // (), or after a ',': (5,), (2, 3,)
			return dims, nil
		}
		if len(dims) == MaxDims {
			return nil, fmt.Errorf("more than %d dimensions", MaxDims)
		}
		p.space()
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		if j == p.i {
			return nil, errors.New("want a non-negative integer")
		}
		n, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("dimension %s is too large", q(p.s[p.i:j]))
		}
		p.i = j
		if p.i < len(p.s) && p.s[p.i] == 'L' {
			p.i++
		}
		dims = append(dims, n)
		if p.eat(',') {
			continue
		}
		if !p.eat(')') {
			return nil, errors.New("want ',' or ')' after a dimension")
		}
		if len(dims) == 1 {
			return nil, errors.New("not a tuple") // (5) is 5 in Python
		}
		return dims, nil
	}
}
