package bench

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"strings"
)

// The chart is drawn with the standard library only (image, image/png) and
// the bitmap font in font.go: throughput against concurrency on the left
// (baseline and flow, with the ratio at each point), p99 latencies against
// concurrency on the right with the 50 ms target.

var (
	white    = color.RGBA{255, 255, 255, 255}
	ink      = color.RGBA{33, 37, 41, 255}
	gridGray = color.RGBA{225, 228, 232, 255}
	axisGray = color.RGBA{120, 126, 134, 255}
	blue     = color.RGBA{52, 101, 164, 255}
	orange   = color.RGBA{230, 120, 20, 255}
	green    = color.RGBA{46, 139, 87, 255}
	purple   = color.RGBA{128, 70, 160, 255}
	red      = color.RGBA{200, 40, 40, 255}
)

type canvas struct{ img *image.RGBA }

func (c canvas) set(x, y int, col color.RGBA) {
	if image.Pt(x, y).In(c.img.Rect) {
		c.img.SetRGBA(x, y, col)
	}
}

func (c canvas) fill(x0, y0, x1, y1 int, col color.RGBA) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			c.set(x, y, col)
		}
	}
}

// line draws a line of the given width; dash > 0 draws dashes of that length.
func (c canvas) line(x0, y0, x1, y1, width, dash int, col color.RGBA) {
	dx, dy := float64(x1-x0), float64(y1-y0)
	steps := int(math.Max(math.Abs(dx), math.Abs(dy)))
	if steps == 0 {
		steps = 1
	}
	for i := 0; i <= steps; i++ {
		if dash > 0 && (i/dash)%2 == 1 {
			continue
		}
		x := x0 + int(math.Round(dx*float64(i)/float64(steps)))
		y := y0 + int(math.Round(dy*float64(i)/float64(steps)))
		h := width / 2
		c.fill(x-h, y-h, x-h+width, y-h+width, col)
	}
}

const glyphW, glyphH = 5, 7

func textWidth(s string, scale int) int {
	n := len([]rune(s))
	if n == 0 {
		return 0
	}
	return (n*(glyphW+1) - 1) * scale
}

// text draws s with its top-left corner at (x, y).
func (c canvas) text(x, y int, s string, scale int, col color.RGBA) {
	for _, r := range s {
		g := glyph(r)
		for row := 0; row < glyphH; row++ {
			for colIdx := 0; colIdx < glyphW; colIdx++ {
				if g[row][colIdx] == '#' {
					c.fill(x+colIdx*scale, y+row*scale, x+(colIdx+1)*scale, y+(row+1)*scale, col)
				}
			}
		}
		x += (glyphW + 1) * scale
	}
}

// textV draws s rotated a quarter turn anticlockwise, reading bottom to top,
// its bottom-left at (x, y).
func (c canvas) textV(x, y int, s string, scale int, col color.RGBA) {
	for _, r := range s {
		g := glyph(r)
		for row := 0; row < glyphH; row++ {
			for colIdx := 0; colIdx < glyphW; colIdx++ {
				if g[row][colIdx] == '#' {
					px, py := x+row*scale, y-(colIdx+1)*scale
					c.fill(px, py, px+scale, py+scale, col)
				}
			}
		}
		y -= (glyphW + 1) * scale
	}
}

type chartSeries struct {
	name   string
	col    color.RGBA
	ys     []float64
	labels []string // drawn above each point when set
}

type chartPanel struct {
	x, y, w, h int
	title      string
	yLabel     string
	xs         []int
	series     []chartSeries
	target     float64 // dashed horizontal line when > 0
	targetName string
	logY       bool // logarithmic y axis (latencies spanning milliseconds to seconds)
}

// niceCeil rounds v up to 1, 2 or 5 × 10^k and returns it with a tick step.
func niceCeil(v float64) (top, step float64) {
	if v <= 0 {
		return 1, 0.2
	}
	exp := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*exp >= v {
			top = m * exp
			break
		}
	}
	for _, s := range []float64{0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10} {
		if top/(s*exp) <= 6 {
			return top, s * exp
		}
	}
	return top, top / 5
}

func fmtTick(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func (c canvas) panel(p chartPanel) {
	const scale = 2
	c.text(p.x, p.y, p.title, scale, ink)
	// Plot area.
	left, top := p.x+90, p.y+56
	right, bottom := p.x+p.w-10, p.y+p.h-60
	maxY := p.target
	for _, s := range p.series {
		for _, v := range s.ys {
			maxY = math.Max(maxY, v)
		}
	}
	var yPix func(float64) int
	var ticks []float64
	if p.logY {
		minY := maxY
		for _, s := range p.series {
			for _, v := range s.ys {
				if v > 0 {
					minY = math.Min(minY, v)
				}
			}
		}
		lo := math.Pow(10, math.Floor(math.Log10(math.Max(minY, 0.1))))
		hi := math.Pow(10, math.Ceil(math.Log10(math.Max(maxY*1.05, lo*10))))
		yPix = func(v float64) int {
			v = math.Max(v, lo)
			return bottom - int(math.Round(math.Log10(v/lo)/math.Log10(hi/lo)*float64(bottom-top)))
		}
		for d := lo; d <= hi*1.01; d *= 10 {
			for _, m := range []float64{1, 2, 5} {
				if d*m <= hi*1.01 {
					ticks = append(ticks, d*m)
				}
			}
		}
	} else {
		yTop, step := niceCeil(maxY * 1.12)
		yPix = func(v float64) int { return bottom - int(math.Round(v/yTop*float64(bottom-top))) }
		for v := 0.0; v <= yTop+step/2; v += step {
			ticks = append(ticks, v)
		}
	}
	for _, v := range ticks {
		y := yPix(v)
		c.line(left, y, right, y, 1, 0, gridGray)
		lbl := fmtTick(v)
		c.text(left-10-textWidth(lbl, scale), y-glyphH*scale/2, lbl, scale, axisGray)
	}
	c.line(left, top, left, bottom, 2, 0, axisGray)
	c.line(left, bottom, right, bottom, 2, 0, axisGray)
	c.textV(p.x, (top+bottom)/2+textWidth(p.yLabel, scale)/2, p.yLabel, scale, axisGray)

	n := len(p.xs)
	xPix := func(i int) int {
		if n == 1 {
			return (left + right) / 2
		}
		pad := 40
		return left + pad + i*(right-left-2*pad)/(n-1)
	}
	for i, x := range p.xs {
		lbl := strconv.Itoa(x)
		px := xPix(i)
		c.line(px, bottom, px, bottom+6, 2, 0, axisGray)
		c.text(px-textWidth(lbl, scale)/2, bottom+12, lbl, scale, ink)
	}
	xl := "CONCURRENCY (BUYERS OR CLIENTS IN FLIGHT)"
	c.text((left+right)/2-textWidth(xl, scale)/2, bottom+36, xl, scale, axisGray)
	if p.target > 0 {
		y := yPix(p.target)
		c.line(left, y, right, y, 2, 8, red)
		c.text(left+12, y-glyphH*scale-6, p.targetName, scale, red)
	}
	for _, s := range p.series {
		for i := 1; i < len(s.ys) && i < n; i++ {
			c.line(xPix(i-1), yPix(s.ys[i-1]), xPix(i), yPix(s.ys[i]), 3, 0, s.col)
		}
		for i := 0; i < len(s.ys) && i < n; i++ {
			px, py := xPix(i), yPix(s.ys[i])
			c.fill(px-5, py-5, px+6, py+6, s.col)
			if i < len(s.labels) && s.labels[i] != "" { // a row just above the x axis, clear of the lines
				c.text(px-textWidth(s.labels[i], scale)/2, bottom-26, s.labels[i], scale, s.col)
			}
		}
	}
	// Legend, top-left inside the plot.
	ly := top + 6
	for _, s := range p.series {
		c.fill(left+14, ly+2, left+34, ly+12, s.col)
		c.text(left+42, ly, s.name, scale, ink)
		ly += 22
	}
}

// Chart renders the report's chart as a PNG.
func Chart(r *Report) ([]byte, error) {
	if len(r.Levels) == 0 {
		return nil, errors.New("no levels to chart")
	}
	const W, H = 1600, 700
	c := canvas{image.NewRGBA(image.Rect(0, 0, W, H))}
	c.fill(0, 0, W, H, white)

	var xs []int
	var base, flow, place, notify, e2e []float64
	var ratios []string
	for _, l := range r.Levels {
		xs = append(xs, l.Concurrency)
		base = append(base, l.Baseline.Throughput)
		flow = append(flow, l.Flow.Throughput)
		ratios = append(ratios, l.RatioText())
		place = append(place, l.Flow.PlaceOrder.P99)
		notify = append(notify, l.Flow.NotifyHandler.P99)
		e2e = append(e2e, l.Flow.EndToEnd.P99)
	}
	title := "ORDERPAY BENCHMARK: FULL ORDER FLOW VS BARE TEMPORAL WORKFLOW"
	c.text(W/2-textWidth(title, 3)/2, 18, title, 3, ink)
	c.panel(chartPanel{
		x: 20, y: 70, w: W/2 - 40, h: H - 110,
		title: "THROUGHPUT (COMPLETED PER SECOND)", yLabel: "PER SECOND", xs: xs,
		series: []chartSeries{
			{name: "BARE WORKFLOW (6 ACTIVITIES + SIGNAL)", col: blue, ys: base},
			{name: "ORDER FLOW (HTTP, DB, SANDBOX), RATIO BELOW", col: orange, ys: flow, labels: ratios},
		},
	})
	c.panel(chartPanel{
		x: W/2 + 20, y: 70, w: W/2 - 40, h: H - 110,
		title: "ORDER FLOW P99 LATENCY (MS, LOG SCALE)", yLabel: "MILLISECONDS", xs: xs, logY: true,
		series: []chartSeries{
			{name: "PLACE ORDER (API)", col: orange, ys: place},
			{name: "NOTIFY HANDLER (API)", col: green, ys: notify},
			{name: "END TO END", col: purple, ys: e2e},
		},
		target: LatencyTarget, targetName: "50 MS API TARGET",
	})
	temporalVersion, _, _ := strings.Cut(r.Machine.Temporal, ", UI") // "v1.5.1 (Server 1.29.1"
	if strings.Contains(temporalVersion, "(") {
		temporalVersion += ")"
	}
	pg, _, _ := strings.Cut(r.Machine.Postgres, " (") // "PostgreSQL 15.20"
	foot := fmt.Sprintf("%d CORES, %s, %s, TEMPORAL CLI %s, %s. MAKE BENCH, %s",
		r.Machine.Cores, r.Machine.CPU, r.Machine.Go, temporalVersion, pg, r.Started.Format("2006-01-02"))
	c.text(20, H-22, foot, 2, axisGray)
	var buf bytes.Buffer
	if err := png.Encode(&buf, c.img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
