# SPDX-License-Identifier: Apache-2.0
# Shared by bench-boot.sh and bench-blk.sh: turns "HVABS-BENCH key=value ..."
# lines into per-VMM medians and hvabs/QEMU ratios. The caller's program
# sets nk and head[1..nk] in BEGIN, calls bench_fields() for each line, counts
# good[v] or bad[v], appends each figure k to x[v, k], and calls
# bench_table() in END. Works with mawk and gawk.

function median(list, n,   a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

# Parses the current line into f[]; notes the VMM's order and runs; returns it.
function bench_fields(   i, kv, v) {
	delete f
	for (i = 2; i <= NF; i++) {
		split($i, kv, "=")
		f[kv[1]] = kv[2]
	}
	v = f["vmm"]
	if (!(v in runs)) order[++nv] = v
	runs[v]++
	return v
}

# Prints the table: columns @w wide, figures 1-2 with format @fa, the rest @fb.
function bench_table(name, w, fa, fb,   n, v, k) {
	if (nv == 0) { print name ": no HVABS-BENCH lines in the log"; return }
	printf "%-10s %5s %4s", "vmm", "boots", "bad"
	for (k = 1; k <= nk; k++) printf " %" w "s", head[k]
	printf "\n"
	for (n = 1; n <= nv; n++) {
		v = order[n]
		printf "%-10s %5d %4d", v, runs[v], bad[v] + 0
		for (k = 1; k <= nk; k++) {
			if (!good[v]) { printf " %" w "s", "-"; continue }
			M[v, k] = median(x[v, k])
			printf (k <= 2 ? fa : fb), M[v, k]
		}
		printf "\n"
	}
	if (good["hvabs"] && good["qemu"]) {
		printf "%-10s %5s %4s", "hvabs/qemu", "", ""
		for (k = 1; k <= nk; k++)
			if (M["qemu", k] > 0)
				printf " %" w ".2f", M["hvabs", k] / M["qemu", k]
			else
				printf " %" w "s", "-"
		printf "\n"
	} else
		print "(no hvabs/qemu ratio: hvabs-vmm was not measured or had no successful boot)"
}
