package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/wolkvox-connect/wolkvox-connect/source"
	"github.com/wolkvox-connect/wolkvox-connect/source/config"
)

// quietLogger is the logger of the one-shot commands (tail, offsets): warnings and errors
// only, on stderr, so that the Kafka client's routine messages do not drown the output.
func quietLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// lookupError turns the error of finding what --connector or --report names in file
// into a usage error with the flag's fix; other errors pass unchanged.
func lookupError(file string, err error) error {
	var connector *config.UnknownConnectorError
	var report *source.UnknownReportError
	switch {
	case errors.As(err, &connector):
		return fmt.Errorf("%w: %s %v (fix --connector)", errUsage, file, err)
	case errors.As(err, &report) && !report.Ambiguous:
		return fmt.Errorf("%w: %s: %v (fix --report, or add the report to the file)", errUsage, file, err)
	case errors.As(err, &report):
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return err
}
