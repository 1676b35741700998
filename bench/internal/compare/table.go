package compare

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// median of the successful runs' values; NaN if there is none.
func median(os []Outcome, value func(Outcome) float64) float64 {
	var v []float64
	for _, o := range os {
		if o.Err == "" {
			v = append(v, value(o))
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func value(o Outcome) float64  { return o.Value }
func rssMiB(o Outcome) float64 { return float64(o.RSSKiB) / 1024 }

// format writes a figure the way the table shows it.
func format(v float64, unit string) string {
	switch {
	case math.IsNaN(v):
		return "fail"
	case unit == "msg/s" && v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case unit == "msg/s" && v >= 1e3:
		return fmt.Sprintf("%.1f k", v/1e3)
	case unit == "µs" && v < 100:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

// Verdict says whether ours meets the target against libzmq.
func Verdict(w Workload, ratio float64) string {
	switch {
	case w.Target == 0:
		return "—"
	case math.IsNaN(ratio):
		return "?"
	case w.Latency() && ratio <= w.Target, !w.Latency() && ratio >= w.Target:
		return "yes"
	default:
		return "**no**"
	}
}

func targetText(w Workload) string {
	if w.Target == 0 {
		return "—"
	}
	if w.Latency() {
		return fmt.Sprintf("≤ %.1f×", w.Target)
	}
	return fmt.Sprintf("≥ %.1f×", w.Target)
}

// ratioTitle is the heading of the column of sys's figures over libzmq's.
func ratioTitle(sys string) string {
	if sys == "ours" {
		return "ours/libzmq"
	}
	return "(" + SystemTitle[sys] + ")/libzmq"
}

// printTables writes the medians with the ratios ours/libzmq (one per
// column of ours), then the peak RSS, as Markdown tables.
func printTables(w io.Writer, systems []string, rows []*Row) {
	var head, rule strings.Builder
	head.WriteString("| workload | unit |")
	rule.WriteString("|---|---|")
	for _, s := range systems {
		fmt.Fprintf(&head, " %s |", SystemTitle[s])
		rule.WriteString("---:|")
	}
	var ratioed []string // the columns of ours that get a ratio
	if slices.Contains(systems, "libzmq") {
		for _, s := range systems {
			if slices.Contains(oursSystems, s) {
				ratioed = append(ratioed, s)
			}
		}
	}
	withRatio := len(ratioed) > 0
	if withRatio {
		head.WriteString(" target |")
		rule.WriteString("---|")
		for _, s := range ratioed {
			fmt.Fprintf(&head, " %s | met |", ratioTitle(s))
			rule.WriteString("---:|---|")
		}
	}
	fmt.Fprintf(w, "Medians of the runs (throughput: higher is better; latency: one-way, lower is better)\n\n%s\n%s\n", head.String(), rule.String())
	var lost []string
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s |", r.Name, r.Unit)
		for _, s := range systems {
			if !r.Workload.runsOn(s) {
				fmt.Fprint(w, " n/a |")
				continue
			}
			fmt.Fprintf(w, " %s |", format(median(r.Runs[s], value), r.Unit))
			for _, o := range r.Runs[s] {
				if o.Lost {
					lost = append(lost, fmt.Sprintf("%s on %s", r.Name, s))
					break
				}
			}
		}
		if withRatio {
			fmt.Fprintf(w, " %s |", targetText(r.Workload))
			for _, s := range ratioed {
				ratio := median(r.Runs[s], value) / median(r.Runs["libzmq"], value)
				fmt.Fprintf(w, " %.2f× | %s |", ratio, Verdict(r.Workload, ratio))
			}
		}
		fmt.Fprintln(w)
	}
	if len(lost) > 0 {
		fmt.Fprintf(w, "\nA subscriber gave up waiting (messages lost) in: %s. Its rate counts what arrived.\n", strings.Join(lost, "; "))
	}

	head.Reset()
	rule.Reset()
	head.WriteString("| workload |")
	rule.WriteString("|---|")
	for _, s := range systems {
		fmt.Fprintf(&head, " %s |", SystemTitle[s])
		rule.WriteString("---:|")
	}
	for _, s := range ratioed {
		fmt.Fprintf(&head, " %s |", ratioTitle(s))
		rule.WriteString("---:|")
	}
	fmt.Fprintf(w, "\nPeak RSS of the largest process of a run, MiB (median of the runs; target ours ≤ 2× libzmq)\n\n%s\n%s\n", head.String(), rule.String())
	worst := map[string]float64{}
	for _, r := range rows {
		fmt.Fprintf(w, "| %s |", r.Name)
		for _, s := range systems {
			if !r.Workload.runsOn(s) {
				fmt.Fprint(w, " n/a |")
				continue
			}
			m := median(r.Runs[s], rssMiB)
			if !math.IsNaN(m) {
				worst[s] = max(worst[s], m)
			}
			fmt.Fprintf(w, " %s |", rssText(m))
		}
		for _, s := range ratioed {
			fmt.Fprintf(w, " %.2f× |", median(r.Runs[s], rssMiB)/median(r.Runs["libzmq"], rssMiB))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, "| largest |")
	for _, s := range systems {
		fmt.Fprintf(w, " %s |", rssText(worst[s]))
	}
	for _, s := range ratioed {
		fmt.Fprintf(w, " %.2f× |", worst[s]/worst["libzmq"])
	}
	fmt.Fprintln(w)

	var failed []string
	for _, r := range rows {
		for _, s := range systems {
			for _, o := range r.Runs[s] {
				if o.Err != "" {
					failed = append(failed, fmt.Sprintf("- %s on %s: %s", r.Name, s, o.Err))
				}
			}
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(w, "\nFailed runs:\n%s\n", strings.Join(failed, "\n"))
	}
}

func rssText(m float64) string {
	if math.IsNaN(m) {
		return "fail"
	}
	return fmt.Sprintf("%.1f", m)
}
