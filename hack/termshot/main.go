// Command termshot renders a terminal transcript (stdin) as an SVG picture,
// for the README: `make screenshot` records a real push on the local cluster.
package main

import (
	"bufio"
	"fmt"
	"html"
	"os"
	"strings"
)

func main() {
	title := "kubectl tracebloc push"
	if len(os.Args) > 1 {
		title = os.Args[1]
	}
	var lines []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		lines = append(lines, strings.ReplaceAll(sc.Text(), "\t", "    "))
	}
	width := 0
	for _, l := range lines {
		width = max(width, len([]rune(l)))
	}
	const lineH, charW, pad, bar = 18, 8.4, 16, 28
	w := int(float64(width)*charW) + 2*pad
	h := len(lines)*lineH + 2*pad + bar
	fmt.Printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", w, h, w, h)
	fmt.Printf(`<rect width="%d" height="%d" rx="8" fill="#1e1e2e"/>`+"\n", w, h)
	fmt.Printf(`<circle cx="20" cy="14" r="6" fill="#f38ba8"/><circle cx="40" cy="14" r="6" fill="#f9e2af"/><circle cx="60" cy="14" r="6" fill="#a6e3a1"/>` + "\n")
	fmt.Printf(`<text x="%d" y="18" fill="#9399b2" font-family="monospace" font-size="12" text-anchor="middle">%s</text>`+"\n", w/2, html.EscapeString(title))
	for i, l := range lines {
		color := "#cdd6f4"
		switch {
		case strings.HasPrefix(l, "$ "):
			color = "#89b4fa"
		case strings.HasPrefix(l, "warning:"):
			color = "#f9e2af"
		case strings.HasPrefix(l, "error:"):
			color = "#f38ba8"
		case strings.HasPrefix(l, "staged ") || strings.HasPrefix(l, "verified "):
			color = "#a6e3a1"
		}
		fmt.Printf(`<text x="%d" y="%d" fill="%s" font-family="DejaVu Sans Mono,Menlo,Consolas,monospace" font-size="14" xml:space="preserve">%s</text>`+"\n",
			pad, bar+pad+(i+1)*lineH-4, color, html.EscapeString(l))
	}
	fmt.Println("</svg>")
}
