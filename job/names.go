package job

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Field names a part of a job description, in the words of no front-end in
// particular: a Namer turns it into a flag ("--bind") or a JSON key
// ("bind") for messages.
type Field string

// The fields of a job description.
const (
	FieldBind       Field = "bind"
	FieldTypes      Field = "types"
	FieldPush       Field = "push"
	FieldSpec       Field = "spec"
	FieldGroups     Field = "groups"
	FieldGrid       Field = "grid"
	FieldSize       Field = "size"
	FieldOut        Field = "out"
	FieldOutDir     Field = "out-dir"
	FieldOutputs    Field = "outputs"
	FieldSave       Field = "save"
	FieldIterations Field = "iterations"
	FieldShow       Field = "show"
	// FieldPushSyntax is the syntax of push constants, as messages show it
	// ("TYPE:VALUE,..."), not a field of its own.
	FieldPushSyntax Field = "TYPE:VALUE,..."
)

// A Namer words a Field for the users of one front-end. Every message of
// the package names fields through the Namer it was given, so that each
// front-end's users read their own words.
type Namer func(Field) string

// FlagNames names fields as vkdemo run's flags: --bind, --type, --push.
func FlagNames(f Field) string {
	switch f {
	case FieldTypes:
		return "--type"
	case FieldSave:
		return "--out"
	case FieldPushSyntax, FieldOutputs, FieldIterations:
		return string(f)
	}
	return "--" + string(f)
}

// JSONNames names fields as the keys of the job JSON (JSON): bind, types,
// push, save (for outputs to files), and the push syntax as a JSON string.
func JSONNames(f Field) string {
	switch f {
	case FieldPushSyntax:
		return `"TYPE:VALUE,..."`
	case FieldOut:
		return "save"
	}
	return string(f)
}

func (n Namer) name(f Field) string {
	if n == nil {
		return JSONNames(f)
	}
	return n(f)
}

// Error is a job that cannot be built or resolved: Field is the part of the
// description at fault ("" when no one part is), Msg the message, worded
// with the Namer the job was built with. Usage is true when the description
// itself is wrong (a bad value, a binding the shader does not have) and
// false when it is well formed but its data does not fit (a file, a size).
type Error struct {
	Field Field
	Usage bool
	Msg   string
	Err   error // the cause, or nil
}

// Error returns Msg.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// usagef is a usage Error of field f.
func usagef(f Field, format string, args ...any) *Error {
	return &Error{Field: f, Usage: true, Msg: fmt.Sprintf(format, args...), Err: wrapped(args)}
}

// dataf is a data Error of field f.
func dataf(f Field, format string, args ...any) *Error {
	return &Error{Field: f, Msg: fmt.Sprintf(format, args...), Err: wrapped(args)}
}

// wrapped returns the last error among args, the cause of a message.
func wrapped(args []any) error {
	for i := len(args) - 1; i >= 0; i-- {
		if err, ok := args[i].(error); ok {
			return err
		}
	}
	return nil
}

// maxQuote is how much of an input an error message quotes.
const maxQuote = 64

// q quotes s for an error message, as %q does, cut to maxQuote bytes (at a
// rune boundary) with "…": an error never echoes an input whole.
func q(s string) string {
	if len(s) <= maxQuote {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:cut(s)]) + "…"
}

// Clip cuts s to 64 bytes (at a rune boundary) with "…", for an input
// shown unquoted in a message.
func Clip(s string) string {
	if len(s) <= maxQuote {
		return s
	}
	return s[:cut(s)] + "…"
}

// Quote quotes s as %q does, cut to 64 bytes with "…".
func Quote(s string) string { return q(s) }

func cut(s string) int {
	c := maxQuote
	for c > 0 && !utf8.RuneStart(s[c]) {
		c--
	}
	return c
}

// eachField calls fn with each sep-separated field of s, in order, as
// strings.Split would give them (an empty s is one empty field), but
// scanning s in place: a long s with millions of fields costs nothing until
// fn stops it. It returns fn's first error.
func eachField(s string, sep byte, fn func(string) error) error {
	for {
		i := strings.IndexByte(s, sep)
		if i < 0 {
			return fn(s)
		}
		if err := fn(s[:i]); err != nil {
			return err
		}
		s = s[i+1:]
	}
}
