package job

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// JSON is a job as serve's clients send it (see `vkdemo serve --help`).
type JSON struct {
	Kernel     string            `json:"kernel"`
	Bind       map[string]string `json:"bind"`
	Types      map[string]string `json:"types"`
	Push       string            `json:"push"`
	Spec       map[string]any    `json:"spec"`
	Groups     Dims              `json:"groups"`
	Grid       Dims              `json:"grid"`
	Size       string            `json:"size"`
	Seed       *uint64           `json:"seed"`
	Iterations int               `json:"iterations"`
	Outputs    []uint32          `json:"outputs"`
	Save       map[string]string `json:"save"`
}

// Caps of the job JSON.
const (
	// MaxJSON bounds the job JSON: data goes elsewhere (uploads), and a
	// job's fields take a few hundred bytes.
	MaxJSON = 64 << 10
	// MaxJSONDepth bounds its nesting (a job needs 2).
	MaxJSONDepth = 8
)

// ErrTooLarge is wrapped by DecodeJSON's error for JSON over MaxJSON bytes.
var ErrTooLarge = errors.New("job JSON too large")

// Dims is workgroup or grid dimensions in the JSON: "X,Y,Z", [X,Y,Z] or X,
// kept as "X,Y,Z" for ParseDims.
type Dims string

// UnmarshalJSON takes "X,Y,Z", [X,Y,Z] (1 to 3 numbers) or X.
func (d *Dims) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*d = Dims(s)
		return nil
	}
	var n uint32
	if json.Unmarshal(b, &n) == nil {
		*d = Dims(strconv.FormatUint(uint64(n), 10))
		return nil
	}
	var a []uint32
	if err := json.Unmarshal(b, &a); err != nil || len(a) == 0 || len(a) > 3 {
		return fmt.Errorf("want \"X,Y,Z\", [X,Y,Z] or X, got %s", q(string(b)))
	}
	parts := make([]string, len(a))
	for i, v := range a {
		parts[i] = strconv.FormatUint(uint64(v), 10)
	}
	*d = Dims(strings.Join(parts, ","))
	return nil
}

// DecodeJSON decodes the job JSON: at most MaxJSON bytes (else an error
// wrapping ErrTooLarge), nested at most MaxJSONDepth deep, no key twice in
// an object, no unknown field, one value; maps of at most MaxBindings
// (MaxSpecConstants for spec) entries.
func DecodeJSON(data []byte) (JSON, error) {
	var spec JSON
	if len(data) > MaxJSON {
		return spec, fmt.Errorf("job JSON of %d bytes is larger than %d bytes: %w", len(data), MaxJSON, ErrTooLarge)
	}
	if err := checkJSON(data, MaxJSONDepth); err != nil {
		return spec, fmt.Errorf("bad job JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&spec); err != nil {
		return spec, fmt.Errorf("bad job JSON: %s", clipJSONError(err))
	}
	if dec.More() {
		return spec, errors.New("bad job JSON: more than one value")
	}
	for _, m := range []struct {
		name   Field
		n, max int
	}{
		{FieldBind, len(spec.Bind), MaxBindings}, {FieldTypes, len(spec.Types), MaxBindings},
		{FieldOutputs, len(spec.Outputs), MaxBindings}, {FieldSave, len(spec.Save), MaxBindings},
		{FieldSpec, len(spec.Spec), MaxSpecConstants},
	} {
		if m.n > m.max {
			return spec, usagef(m.name, "%s: %d entries, more than the %d a job may have", m.name, m.n, m.max)
		}
	}
	return spec, nil
}

// FromJSON builds a job from its JSON, making the same checks, in the same
// order, as FromFlags (and the same Job for the same job), worded by
// names. Save paths are taken as given: a server confines them itself.
func FromJSON(spec JSON, names Namer) (*Job, error) {
	n := names.name
	f := Flags{Kernel: spec.Kernel, Size: spec.Size, Groups: string(spec.Groups), Grid: string(spec.Grid), Seed: 1}
	if spec.Seed != nil {
		f.Seed = *spec.Seed
	}
	for _, k := range sortedStrings(spec.Bind) {
		f.Binds = append(f.Binds, k+"="+spec.Bind[k])
	}
	for _, k := range sortedStrings(spec.Types) {
		f.Types = append(f.Types, k+"="+spec.Types[k])
	}
	for _, k := range sortedStrings(spec.Spec) {
		v, err := specJSONValue(spec.Spec[k])
		if err != nil {
			return nil, usagef(FieldSpec, "%s %s: %v", n(FieldSpec), q(k), err)
		}
		f.Spec = append(f.Spec, k+"="+v)
	}
	if spec.Push != "" {
		f.Push = []string{spec.Push}
	}
	j, err := FromFlags(f, names)
	if err != nil {
		return nil, err
	}
	if spec.Iterations < 0 || spec.Iterations > MaxIterations {
		return nil, usagef(FieldIterations, "%s %d: want 1 to %d", n(FieldIterations), spec.Iterations, MaxIterations)
	}
	j.Iterations = max(spec.Iterations, 1)
	j.Outputs = spec.Outputs
	savedTo := map[string]string{}
	for _, k := range sortedStrings(spec.Save) {
		p := spec.Save[k]
		b, err := strconv.ParseUint(k, 10, 32)
		if err != nil {
			return nil, usagef(FieldSave, "%s %s: the key is a binding number", n(FieldSave), q(k))
		}
		if _, dup := j.Saves[uint32(b)]; dup {
			return nil, usagef(FieldSave, "%s: binding %d given twice", n(FieldSave), b)
		}
		if other, dup := savedTo[p]; dup {
			return nil, usagef(FieldSave, "%s: bindings %s and %s both go to %s: one would overwrite the other", n(FieldSave), other, k, q(p))
		}
		savedTo[p] = k
		j.Saves[uint32(b)] = Save{Path: p}
	}
	return j, nil
}

// clipJSONError is a JSON decoding error, with the input it quotes (an
// unknown field's name) cut to maxQuote bytes.
func clipJSONError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		if n, err := strconv.Unquote(name); err == nil {
			return "json: unknown field " + q(n)
		}
	}
	return Clip(msg)
}

// checkJSON checks, token by token (no value is built), that data nests
// objects and arrays at most depth deep and has no key twice in an object
// (encoding/json would keep the last silently). Syntax errors are left
// to the decoder.
func checkJSON(data []byte, depth int) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type level struct {
		keys     map[string]bool // nil for an array
		wantsKey bool
	}
	var stack []level
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // end of input, or a syntax error the decoder reports
		}
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if len(stack) == depth {
					return fmt.Errorf("nested more than %d deep", depth)
				}
				if top >= 0 && stack[top].keys != nil {
					stack[top].wantsKey = true // this value ends a member
				}
				l := level{}
				if d == '{' {
					l = level{keys: map[string]bool{}, wantsKey: true}
				}
				stack = append(stack, l)
			default:
				stack = stack[:top]
			}
			continue
		}
		if top < 0 || stack[top].keys == nil {
			continue // an element of an array, or the top value
		}
		if stack[top].wantsKey {
			k, _ := tok.(string)
			if stack[top].keys[k] {
				return fmt.Errorf("key %s given twice", q(k))
			}
			stack[top].keys[k] = true
			stack[top].wantsKey = false
		} else {
			stack[top].wantsKey = true
		}
	}
}

// specJSONValue is a spec value of the job JSON in ParseSpec syntax: a
// number (as written), a bool, or a string "[TYPE:]VALUE".
func specJSONValue(v any) (string, error) {
	switch v := v.(type) {
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	case string:
		if v == "" || strings.ContainsAny(v, ",=") {
			return "", fmt.Errorf("%s: want a number, a bool or \"[TYPE:]VALUE\"", q(v))
		}
		return v, nil
	}
	return "", fmt.Errorf("want a number, a bool or \"[TYPE:]VALUE\", not %T", v)
}

// sortedStrings returns m's keys in order.
func sortedStrings[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
