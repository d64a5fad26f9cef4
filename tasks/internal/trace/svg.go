package trace

import (
	"bufio"
	"fmt"
	"html"
	stdio "io"
	"math"
	"strconv"
)

// SVGOptions configure WriteSVG.
type SVGOptions struct {
	Title string
	Width int // total width in pixels; 0 means 1400
	// Lines are extra lines of text under the title (a summary).
	Lines []string
	// Counters, if set, are drawn as small area charts under the lanes, one
	// per counter name, each scaled to its own maximum.
	Counters Samples
	// CounterScale, if set, gives a counter's full-scale value when its
	// samples stay below it (cores busy: the machine's cores), so that a
	// full chart means a full resource.
	CounterScale map[string]float64
}

var classColors = map[string][2]string{ // fill, wait fill
	"CPU":     {"#4e79a7", "#c6d5e6"},
	"GPU":     {"#59a14f", "#c9e3c4"},
	"Disk":    {"#f28e2b", "#fad7b2"},
	"Network": {"#b07aa1", "#e4cfdf"},
}

// WriteSVG draws evs as a self-contained SVG timeline: one row per packed lane
// (as Layout makes them), time left to right with a labelled axis, a tooltip
// (<title>) per span, and flow arrows between the spans of each Flow id.
// Spans whose Cat is "wait" are drawn light.
func WriteSVG(w stdio.Writer, evs Events, opt SVGOptions) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	pl, lanes := Layout(evs)
	width := opt.Width
	if width <= 0 {
		width = 1400
	}
	const (
		labelW = 170
		rowH   = 20
		pad    = 10
		axisH  = 24
	)
	headH := 30 + 16*len(opt.Lines)
	var t0, t1 int64 = math.MaxInt64, math.MinInt64
	for i := range evs.Len() {
		p := evs.At(i)
		t0 = min(t0, p.Start)
		t1 = max(t1, p.Start+max(p.Dur, 0))
	}
	var names []string
	if opt.Counters != nil {
		names = counterNames(opt.Counters)
		for i := range opt.Counters.Len() {
			c := opt.Counters.At(i)
			t0, t1 = min(t0, c.T), max(t1, c.T)
		}
	}
	if t0 > t1 {
		t0, t1 = 0, 1
	}
	span := max(t1-t0, 1)
	plotW := float64(width - labelW - 2*pad)
	xOf := func(ns int64) float64 { return float64(labelW+pad) + float64(ns-t0)/float64(span)*plotW }
	top := headH + axisH
	const chartH = 40
	height := top + rowH*len(lanes) + chartH*len(names) + pad
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	fmt.Fprintf(bw, `<defs><marker id="arrow" viewBox="0 0 6 6" refX="6" refY="3" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="#555"/></marker></defs>`+"\n")
	fmt.Fprintf(bw, `<text x="%d" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", pad, html.EscapeString(opt.Title))
	for i, l := range opt.Lines {
		fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text>`+"\n", pad, 38+16*i, html.EscapeString(l))
	}
	// Axis with about 10 ticks at a 1-2-5 step.
	step := niceStep(float64(span) / 10)
	fmt.Fprintf(bw, `<g stroke="#ddd">`)
	for t := 0.0; t <= float64(span)+1; t += step {
		x := xOf(t0 + int64(t))
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`, x, headH+axisH-6, x, height-pad)
	}
	fmt.Fprintf(bw, "</g>\n<g fill=\"#333\" text-anchor=\"middle\">")
	for t := 0.0; t <= float64(span)+1; t += step {
		fmt.Fprintf(bw, `<text x="%.1f" y="%d">%s</text>`, xOf(t0+int64(t)), headH+axisH-10, fmtDur(t))
	}
	fmt.Fprintf(bw, "</g>\n")
	// Lane backgrounds and labels.
	for _, l := range lanes {
		y := top + l.Row*rowH
		if l.Row%2 == 0 {
			fmt.Fprintf(bw, `<rect x="0" y="%d" width="%d" height="%d" fill="#f5f5f5"/>`, y, width, rowH)
		}
		fmt.Fprintf(bw, `<text x="%d" y="%d">%s: %s</text>`+"\n", pad, y+14, html.EscapeString(l.Class), html.EscapeString(l.Name))
	}
	for _, i := range pl.Order {
		p := evs.At(int(i))
		cols, ok := classColors[p.Class]
		if !ok {
			cols = [2]string{"#888", "#ccc"}
		}
		fill := cols[0]
		if p.Cat == "wait" {
			fill = cols[1]
		}
		x0, x1 := xOf(p.Start), xOf(p.Start+max(p.Dur, 0))
		y := top + int(pl.Row[i])*rowH
		fmt.Fprintf(bw, `<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s" stroke="#fff" stroke-width="0.3"><title>%s (%s) %s at %s</title></rect>`+"\n",
			x0, y+3, max(x1-x0, 0.6), rowH-6, fill, html.EscapeString(p.Name), html.EscapeString(p.Cat), fmtDur(float64(p.Dur)), fmtDur(float64(p.Start-t0)))
	}
	center := func(i int32) (float64, float64) {
		p := evs.At(int(i))
		return (xOf(p.Start) + xOf(p.Start+max(p.Dur, 0))) / 2, float64(top + int(pl.Row[i])*rowH + rowH/2)
	}
	fl := flowOrder(evs, pl)
	fmt.Fprintf(bw, `<g stroke="#555" stroke-width="0.7" fill="none" opacity="0.6">`+"\n")
	for j := 1; j < len(fl); j++ {
		if evs.At(int(fl[j])).Flow != evs.At(int(fl[j-1])).Flow {
			continue
		}
		ax, ay := center(fl[j-1])
		bx, by := center(fl[j])
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" marker-end="url(#arrow)"/>`+"\n", ax, ay, bx, by)
	}
	fmt.Fprintf(bw, "</g>\n")
	for ci, name := range names {
		y0 := top + rowH*len(lanes) + chartH*ci
		writeCounter(bw, opt.Counters, name, opt.CounterScale[name], xOf, y0, chartH, width, pad, labelW)
	}
	fmt.Fprintf(bw, "</svg>\n")
	return bw.Flush()
}

func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func fmtDur(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.3gs", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.3gms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.3gµs", ns/1e3)
	}
	return fmt.Sprintf("%.0fns", ns)
}

// writeCounter draws the samples of one counter as a step area chart in the
// band [y0, y0+h): value 0 at the bottom, max(scale, the counter's maximum)
// at the top, labelled with its maximum and time-weighted mean.
func writeCounter(bw *bufio.Writer, ss Samples, name string, scale float64, xOf func(int64) float64, y0, h, width, pad, labelW int) {
	maxV, area := 0.0, 0.0
	n := 0
	var first, prevT int64
	prevV := 0.0
	for i := range ss.Len() {
		c := ss.At(i)
		if c.Name != name || math.IsNaN(c.Value) || math.IsInf(c.Value, 0) {
			continue
		}
		if n == 0 {
			first = c.T
		} else {
			area += prevV * float64(c.T-prevT)
		}
		prevT, prevV = c.T, c.Value
		maxV = max(maxV, c.Value)
		n++
	}
	mean := 0.0
	if prevT > first {
		mean = area / float64(prevT-first)
	}
	peak := maxV
	maxV = max(maxV, scale)
	top, bottom := float64(y0+4), float64(y0+h-2)
	yOf := func(v float64) float64 {
		if maxV <= 0 {
			return bottom
		}
		return bottom - max(v, 0)/maxV*(bottom-top)
	}
	fmt.Fprintf(bw, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ccc"/>`, labelW+pad, bottom, width-pad, bottom)
	fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text><text x="%d" y="%d" fill="#777">max %s, mean %s (top %s)</text>`+"\n",
		pad, y0+16, html.EscapeString(name), pad, y0+30, strconv.FormatFloat(peak, 'g', 3, 64),
		strconv.FormatFloat(mean, 'g', 3, 64), strconv.FormatFloat(maxV, 'g', 3, 64))
	if n == 0 {
		return
	}
	fmt.Fprintf(bw, `<path fill="#e15759" fill-opacity="0.35" stroke="#e15759" stroke-width="0.8" d="`)
	start, lastX, lastY := true, 0.0, bottom
	for i := range ss.Len() {
		c := ss.At(i)
		if c.Name != name || math.IsNaN(c.Value) || math.IsInf(c.Value, 0) {
			continue
		}
		x, y := xOf(c.T), yOf(c.Value)
		if start {
			fmt.Fprintf(bw, "M%.1f,%.1f L%.1f,%.1f", x, bottom, x, y)
			start = false
		} else {
			// A step: the value holds until the next sample.
			fmt.Fprintf(bw, " L%.1f,%.1f L%.1f,%.1f", x, lastY, x, y)
		}
		lastX, lastY = x, y
	}
	fmt.Fprintf(bw, " L%.1f,%.1f Z\"><title>%s</title></path>\n", lastX, bottom, html.EscapeString(name))
}
