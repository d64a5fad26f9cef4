package io

// ForceWalk makes confined opens (the ...Beneath methods) take the
// component walk even where openat2 works, until restore is called: the
// walk is what runs on kernels without openat2 or under seccomp profiles
// that refuse it.
func ForceWalk() (restore func()) {
	old := forceWalk.Swap(true)
	return func() { forceWalk.Store(old) }
}

// SetWalkHook runs f in the walk after each folder component i is opened,
// until restore is called.
func SetWalkHook(f func(i int)) (restore func()) {
	old := walkHook
	walkHook = f
	return func() { walkHook = old }
}
