package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/wolkvox-connect/wolkvox-connect/source/console"
	"github.com/wolkvox-connect/wolkvox-connect/source/demo"
)

// demoCommand is "wolkvox-connect demo".
func demoCommand() command {
	return command{
		name:    "demo",
		summary: "Run everything in one process: a simulated Wolkvox, a Kafka broker and the worker",
		usage: "[--duration D] [--speed N] [--brokers HOST:PORT,...] [--reports a,b,c] [--events N]\n\n" +
			"Starts an embedded Kafka-compatible broker (kfake, in memory), the Wolkvox simulator\n" +
			"(seeded; late rows, edits and a few HTTP 500s) and the worker with one connector,\n" +
			"\"demo\", on a virtual clock running --speed times faster than real time, shared by the\n" +
			"simulator and the worker. The connector starts two virtual hours in the past, so its\n" +
			"first windows catch up. A progress table is redrawn every second (every few seconds,\n" +
			"as plain blocks, when stdout is not a terminal): ROWS events delivered, WINDOWS\n" +
			"windows committed, CALLS API calls (retries included), ERRORS failed calls, DEAD\n" +
			"rows sent to the dead-letter topic, LAG virtual now minus the newest row's time (for\n" +
			"range aggregates, minus the end of the last bucket read). When --duration has passed, or on\n" +
			"Ctrl-C, the worker stops, the final table is printed, and a few events of each report\n" +
			"are read back from Kafka (read_committed) and printed as JSON lines.\n\n" +
			"With --brokers the demo writes to that cluster instead, to topics demo.<report>, its\n" +
			"offsets to demo.offsets and dead letters to demo.dlq; run it again and it resumes from\n" +
			"those offsets, the virtual clock moved on so that catching up shows again.\n\n" +
			"--reports takes api names, each optionally followed by :param=value pairs\n" +
			"(agent_2:agent_id=1001); parameters with a catalog default (cod_act, skill_id,\n" +
			"campaign_id) may be left out. 'wolkvox-connect reports' lists the 104 reports.",
		example: "wolkvox-connect demo --duration 30s",
		run:     runDemo,
	}
}

func runDemo(ctx context.Context, env *environment, fs *pflag.FlagSet, args []string) error {
	f := demo.AddFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	cfg, err := f.Config(env.stdout, console.IsTerminal(env.stdout, env.getenv), env.stderr, version)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return demo.Run(ctx, cfg)
}
