// Package readme holds no code: its test builds every complete Go program
// of the repository's README.md (each fenced go block that starts with
// "package main") as an external module would, proving that the module
// path is go-gettable and that the README's examples compile.
package readme
