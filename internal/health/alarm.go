package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// Alarm states, as CloudWatch names them.
const (
	StateOK               = "OK"
	StateAlarm            = "ALARM"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// Alarm is an alarm's current state.
type Alarm struct {
	Name      string    `json:"name"`
	State     string    `json:"state"`
	Reason    string    `json:"reason,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// AlarmFile is the embedded environment's alarms: a JSON file mapping alarm
// names to their state. An alarm not in the file is OK.
type AlarmFile struct {
	Path string
}

// States returns the named alarms' states.
func (f *AlarmFile) States(ctx context.Context, names []string) ([]Alarm, error) {
	all, err := f.read()
	if err != nil {
		return nil, err
	}
	out := make([]Alarm, 0, len(names))
	for _, n := range names {
		a, ok := all[n]
		if !ok {
			a = Alarm{State: StateOK}
		}
		a.Name = n
		out = append(out, a)
	}
	return out, nil
}

// Set changes an alarm's state, as a CloudWatch alarm would change.
func (f *AlarmFile) Set(name, state, reason string) error {
	all, err := f.read()
	if err != nil {
		return err
	}
	all[name] = Alarm{Name: name, State: state, Reason: reason, UpdatedAt: time.Now().UTC()}
	b, _ := json.MarshalIndent(all, "", "  ")
	tmp := f.Path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("set alarm %s: %w", name, err)
	}
	return os.Rename(tmp, f.Path)
}

// All returns every alarm the file holds, by name.
func (f *AlarmFile) All() ([]Alarm, error) {
	all, err := f.read()
	if err != nil {
		return nil, err
	}
	out := make([]Alarm, 0, len(all))
	for _, n := range slices.Sorted(maps.Keys(all)) {
		a := all[n]
		a.Name = n
		out = append(out, a)
	}
	return out, nil
}

func (f *AlarmFile) read() (map[string]Alarm, error) {
	all := map[string]Alarm{}
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, os.ErrNotExist) {
		return all, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read alarms %s: %w", f.Path, err)
	}
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("read alarms %s: %w", f.Path, err)
	}
	return all, nil
}

// CloudWatchAPI is the part of *cloudwatch.Client that CloudWatch uses.
type CloudWatchAPI interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

var _ CloudWatchAPI = (*cloudwatch.Client)(nil)

// CloudWatch reads alarm states with DescribeAlarms, metric and composite.
type CloudWatch struct {
	Client CloudWatchAPI
}

// States returns the named alarms' states. An alarm that does not exist is
// an error: a guard that is not there must not count as quiet.
func (c *CloudWatch) States(ctx context.Context, names []string) ([]Alarm, error) {
	found := map[string]Alarm{}
	for start := 0; start < len(names); start += 100 {
		end := min(start+100, len(names))
		p := cloudwatch.NewDescribeAlarmsPaginator(c.Client, &cloudwatch.DescribeAlarmsInput{
			AlarmNames: names[start:end],
			AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describe alarms: %w", err)
			}
			for _, a := range out.MetricAlarms {
				found[aws.ToString(a.AlarmName)] = Alarm{Name: aws.ToString(a.AlarmName), State: string(a.StateValue), Reason: aws.ToString(a.StateReason), UpdatedAt: aws.ToTime(a.StateUpdatedTimestamp)}
			}
			for _, a := range out.CompositeAlarms {
				found[aws.ToString(a.AlarmName)] = Alarm{Name: aws.ToString(a.AlarmName), State: string(a.StateValue), Reason: aws.ToString(a.StateReason), UpdatedAt: aws.ToTime(a.StateUpdatedTimestamp)}
			}
		}
	}
	var missing []string
	out := make([]Alarm, 0, len(names))
	for _, n := range names {
		a, ok := found[n]
		if !ok {
			missing = append(missing, n)
			continue
		}
		out = append(out, a)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return out, fmt.Errorf("alarms not found in CloudWatch: %v; create them or remove them from the manifest's alarms", missing)
	}
	return out, nil
}

// Firing returns the alarms in ALARM.
func Firing(alarms []Alarm) []Alarm {
	var out []Alarm
	for _, a := range alarms {
		if a.State == StateAlarm {
			out = append(out, a)
		}
	}
	return out
}
