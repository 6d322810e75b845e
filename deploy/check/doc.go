// Package check holds the tests of what deploy/ ships: the container image, compose,
// Kubernetes, systemd, the monitoring rules and dashboard, and the README's guides.
package check
