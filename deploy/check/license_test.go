package check

import (
	"strings"
	"testing"
)

// TestLicense: LICENSE is the whole Apache License 2.0 (its nine sections, to the end
// of the terms), and the README names the same license.
func TestLicense(t *testing.T) {
	text := string(readFile(t, "LICENSE"))
	readme := string(readFile(t, "README.md"))
	tests := []string{
		"Apache License\n                           Version 2.0, January 2004",
		"1. Definitions.",
		"2. Grant of Copyright License.",
		"3. Grant of Patent License.",
		"4. Redistribution.",
		"5. Submission of Contributions.",
		"6. Trademarks.",
		"7. Disclaimer of Warranty.",
		"8. Limitation of Liability.",
		"9. Accepting Warranty or Additional Liability.",
		"END OF TERMS AND CONDITIONS",
	}
	for _, want := range tests {
		t.Run(strings.SplitN(want, "\n", 2)[0], func(t *testing.T) {
			if !strings.Contains(text, want) {
				t.Errorf("LICENSE lacks %q", want)
			}
		})
	}
	if !strings.Contains(readme, "## License\n\nApache License 2.0") {
		t.Error("README has no License section naming the Apache License 2.0")
	}
}
