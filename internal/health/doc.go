// Package health answers "is the new release really serving, and is
// anything on fire?": an HTTP probe that checks both the status and the
// version an instance reports (a probe without the version check passes
// against an old process), and alarm sources — a local file for the
// embedded environment, CloudWatch DescribeAlarms (metric and composite
// alarms) on AWS.
package health
