package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
)

// The burst's plot: accepted and refused requests per second over the
// provider's limit, and the p99 lag of the events accepted in each second,
// drawn with the standard library alone (a 3x5 pixel font for the labels).

var (
	plotBG     = color.RGBA{255, 255, 255, 255}
	plotAxis   = color.RGBA{60, 60, 60, 255}
	plotGrid   = color.RGBA{225, 225, 225, 255}
	plotGood   = color.RGBA{31, 119, 180, 255}
	plotBad    = color.RGBA{214, 39, 40, 255}
	plotLimit  = color.RGBA{44, 160, 44, 255}
	plotLag    = color.RGBA{148, 103, 189, 255}
	plotScale  = 2 // font pixel size
	plotWidth  = 960
	plotHeight = 640
)

// burstPlot renders r's seconds as a PNG.
func burstPlot(r simResult, rate float64, title string) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, plotWidth, plotHeight))
	fill(img, img.Bounds(), plotBG)
	n := max(len(r.Seconds), 1)
	var maxReq float64 = rate * 1.5
	var maxLag float64 = 1
	for _, s := range r.Seconds {
		maxReq = max(maxReq, float64(s.Accepted), float64(s.Refused))
		maxLag = max(maxLag, s.LagP99.Seconds())
	}
	drawText(img, 60, 12, strings.ToUpper(title), plotAxis)

	top := panel{x0: 60, y0: 40, x1: plotWidth - 20, y1: 330, xmax: float64(n), ymax: niceCeil(maxReq)}
	top.axes(img, "REQUESTS/S")
	top.hline(img, rate, plotLimit)
	good := make([]float64, len(r.Seconds))
	bad := make([]float64, len(r.Seconds))
	lag := make([]float64, len(r.Seconds))
	for i, s := range r.Seconds {
		good[i], bad[i], lag[i] = float64(s.Accepted), float64(s.Refused), s.LagP99.Seconds()
	}
	top.series(img, good, plotGood)
	top.series(img, bad, plotBad)
	legend(img, top.x1-300, top.y0+8, []string{"ACCEPTED", "REFUSED 429", "LIMIT R"}, []color.RGBA{plotGood, plotBad, plotLimit})

	bottom := panel{x0: 60, y0: 380, x1: plotWidth - 20, y1: plotHeight - 50, xmax: float64(n), ymax: niceCeil(maxLag)}
	bottom.axes(img, "P99 LAG S")
	bottom.series(img, lag, plotLag)
	drawText(img, (bottom.x0+bottom.x1)/2-40, plotHeight-20, "TIME S", plotAxis)

	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// panel maps data (x from 0 to xmax, y from 0 to ymax) onto a rectangle.
type panel struct {
	x0, y0, x1, y1 int
	xmax, ymax     float64
}

func (p panel) px(x, y float64) (int, int) {
	return p.x0 + int(x/p.xmax*float64(p.x1-p.x0)), p.y1 - int(y/p.ymax*float64(p.y1-p.y0))
}

func (p panel) axes(img *image.RGBA, label string) {
	for i := 0; i <= 4; i++ {
		y := p.ymax * float64(i) / 4
		_, py := p.px(0, y)
		line(img, p.x0, py, p.x1, py, plotGrid)
		drawText(img, 2, py-5, short(y), plotAxis)
	}
	for i := 0; i <= 8; i++ {
		x := p.xmax * float64(i) / 8
		px, _ := p.px(x, 0)
		line(img, px, p.y1, px, p.y1+4, plotAxis)
		drawText(img, px-8, p.y1+8, short(x), plotAxis)
	}
	line(img, p.x0, p.y0, p.x0, p.y1, plotAxis)
	line(img, p.x0, p.y1, p.x1, p.y1, plotAxis)
	drawText(img, p.x0+6, p.y0-12, label, plotAxis)
}

func (p panel) hline(img *image.RGBA, y float64, c color.RGBA) {
	_, py := p.px(0, y)
	for x := p.x0; x < p.x1; x += 6 {
		line(img, x, py, min(x+3, p.x1), py, c)
	}
}

func (p panel) series(img *image.RGBA, ys []float64, c color.RGBA) {
	for i := 1; i < len(ys); i++ {
		ax, ay := p.px(float64(i-1)+0.5, ys[i-1])
		bx, by := p.px(float64(i)+0.5, ys[i])
		line(img, ax, ay, bx, by, c)
	}
}

func legend(img *image.RGBA, x, y int, names []string, colors []color.RGBA) {
	for i, name := range names {
		fill(img, image.Rect(x, y+i*14, x+12, y+i*14+8), colors[i])
		drawText(img, x+18, y+i*14-1, name, plotAxis)
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func short(v float64) string {
	if v >= 1000 && math.Mod(v, 1000) == 0 {
		return fmt.Sprintf("%.0fK", v/1000)
	}
	return fmt.Sprintf("%.0f", v)
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// line draws with Bresenham's algorithm, two pixels wide.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	err := dx + dy
	for {
		img.SetRGBA(x0, y0, c)
		img.SetRGBA(x0, y0+1, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * err
		if e2 >= dy {
			err += dy
			x0 += sx
		}
		if e2 <= dx {
			err += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

// glyphs is a 3x5 pixel font: each rune is five rows of three bits.
var glyphs = map[rune][5]uint8{
	'0': {7, 5, 5, 5, 7}, '1': {2, 6, 2, 2, 7}, '2': {7, 1, 7, 4, 7}, '3': {7, 1, 7, 1, 7},
	'4': {5, 5, 7, 1, 1}, '5': {7, 4, 7, 1, 7}, '6': {7, 4, 7, 5, 7}, '7': {7, 1, 1, 1, 1},
	'8': {7, 5, 7, 5, 7}, '9': {7, 5, 7, 1, 7}, '.': {0, 0, 0, 0, 2}, '/': {1, 1, 2, 4, 4},
	',': {0, 0, 0, 2, 4}, '-': {0, 0, 7, 0, 0}, ':': {0, 2, 0, 2, 0}, '=': {0, 7, 0, 7, 0},
	'%': {5, 1, 2, 4, 5}, '(': {2, 4, 4, 4, 2}, ')': {2, 1, 1, 1, 2},
	'A': {2, 5, 7, 5, 5}, 'B': {6, 5, 6, 5, 6}, 'C': {7, 4, 4, 4, 7}, 'D': {6, 5, 5, 5, 6},
	'E': {7, 4, 6, 4, 7}, 'F': {7, 4, 6, 4, 4}, 'G': {7, 4, 5, 5, 7}, 'H': {5, 5, 7, 5, 5},
	'I': {7, 2, 2, 2, 7}, 'J': {1, 1, 1, 5, 7}, 'K': {5, 5, 6, 5, 5}, 'L': {4, 4, 4, 4, 7},
	'M': {5, 7, 7, 5, 5}, 'N': {6, 5, 5, 5, 5}, 'O': {7, 5, 5, 5, 7}, 'P': {7, 5, 7, 4, 4},
	'Q': {7, 5, 5, 7, 1}, 'R': {7, 5, 6, 5, 5}, 'S': {7, 4, 7, 1, 7}, 'T': {7, 2, 2, 2, 2},
	'U': {5, 5, 5, 5, 7}, 'V': {5, 5, 5, 5, 2}, 'W': {5, 5, 7, 7, 5}, 'X': {5, 5, 2, 5, 5},
	'Y': {5, 5, 2, 2, 2}, 'Z': {7, 1, 2, 4, 7},
}

func drawText(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, r := range s {
		g, ok := glyphs[r]
		if ok {
			for row, bits := range g {
				for col := 0; col < 3; col++ {
					if bits&(4>>col) != 0 {
						fill(img, image.Rect(x+col*plotScale, y+row*plotScale, x+(col+1)*plotScale, y+(row+1)*plotScale), c)
					}
				}
			}
		}
		x += 4 * plotScale
	}
}
