package shaders

// JuliaRGBA is the CPU reference of the Julia kernel for one pixel: the colour
// julia.comp writes for pixel (px, py), computed with the same float32
// arithmetic in the same order, so a GPU result can be checked bit for bit.
// mode 0 draws the Mandelbrot set (c = the pixel's point), mode 1 the Julia
// set of c = (cx, cy).
func JuliaRGBA(px, py int, x0, y0, dx, dy, cx, cy float32, maxIter, mode uint32) [4]byte {
	fx := x0 + float32(px)*dx
	fy := y0 + float32(py)*dy
	zx, zy, ccx, ccy := float32(0), float32(0), fx, fy
	if mode == 1 {
		zx, zy, ccx, ccy = fx, fy, cx, cy
	}
	it := uint32(0)
	for it < maxIter {
		xx := zx * zx
		yy := zy * zy
		if xx+yy > 4 {
			break
		}
		xy := zx * zy
		zy = xy + xy + ccy
		zx = xx - yy + ccx
		it++
	}
	if it == maxIter {
		return [4]byte{0, 0, 0, 255}
	}
	return [4]byte{byte(it * 9), byte(it * 5), byte(it*17 + 64), 255}
}
