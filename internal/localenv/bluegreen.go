package localenv

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/traffic/balancer"
)

// SideTag is the instance tag that says which side of a blue/green
// environment an instance is on (blue or green).
const SideTag = "slipway:side"

// Group names of env's two sides.
func blueGroup(env string) string  { return env + "-" + config.Blue }
func greenGroup(env string) string { return env + "-" + config.Green }

// splitSides puts the first half of env's instances (the larger half
// when their number is odd: 3 is 2 blue, 1 green) on the blue side and
// the rest on green, and writes each one's side in its tags.json.
func splitSides(fl *fleet.Local, env string) (blue, green []fleet.Instance, err error) {
	insts, err := fl.Instances(context.Background(), env)
	if err != nil {
		return nil, nil, err
	}
	if len(insts) < 2 {
		return nil, nil, fmt.Errorf("environment %s has %d instance(s); blue/green needs at least 2 (one per side): give more instances", env, len(insts))
	}
	// Instances are env-1, env-2, ...: order them by number, not as text.
	num := func(id string) int {
		n, _ := strconv.Atoi(id[strings.LastIndex(id, "-")+1:])
		return n
	}
	sort.Slice(insts, func(i, j int) bool { return num(insts[i].ID) < num(insts[j].ID) })
	nBlue := (len(insts) + 1) / 2
	for i, inst := range insts {
		side := config.Blue
		if i >= nBlue {
			side = config.Green
		}
		if err := setTag(fl.InstanceDir(env, inst.ID), SideTag, side); err != nil {
			return nil, nil, fmt.Errorf("tag instance %s: %w", inst.ID, err)
		}
		if inst.Tags == nil {
			inst.Tags = map[string]string{}
		}
		inst.Tags[SideTag] = side
		if side == config.Blue {
			blue = append(blue, inst)
		} else {
			green = append(green, inst)
		}
	}
	return blue, green, nil
}

// setTag sets key=value in the instance's tags.json.
func setTag(dir, key, value string) error {
	path := filepath.Join(dir, "tags.json")
	tags := map[string]string{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &tags); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	tags[key] = value
	b, err := json.Marshal(tags)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// startBlueGreen sets env up for blue/green on the balancer c: its
// instances split in two sides (splitSides), a target group per side
// (<env>-blue, <env>-green) with that side's instances registered, and
// the listener <env> forwarding everything to green. Nothing runs an app
// yet, so neither side serves; with green holding all the weight, the
// first deployment goes to blue (the idle side) and the listener shifts
// to it. Each group holds its side's instances from the start, with
// weight 0 on the idle side: the balancer health-checks them, but no
// request reaches them until a shift. It returns the environment's
// blue_green configuration.
func startBlueGreen(ctx context.Context, c *balancer.Client, fl *fleet.Local, env string) (*config.BlueGreen, error) {
	blue, green, err := splitSides(fl, env)
	if err != nil {
		return nil, err
	}
	for _, side := range []struct {
		group string
		insts []fleet.Instance
	}{{blueGroup(env), blue}, {greenGroup(env), green}} {
		addrs := map[string]string{}
		for _, i := range side.insts {
			addrs[i.ID] = i.Address
		}
		ts, err := targetsOf(addrs)
		if err != nil {
			return nil, err
		}
		if err := c.CreateGroup(ctx, side.group, balancer.Group{}); err != nil {
			return nil, err
		}
		if err := c.Register(ctx, side.group, ts); err != nil {
			return nil, err
		}
	}
	if _, err := c.CreateListener(ctx, env, 0, map[string]int{blueGroup(env): 0, greenGroup(env): 100}); err != nil {
		return nil, err
	}
	return &config.BlueGreen{
		Listener: env,
		Blue:     config.Side{TargetGroup: blueGroup(env), Tags: map[string]string{SideTag: config.Blue}},
		Green:    config.Side{TargetGroup: greenGroup(env), Tags: map[string]string{SideTag: config.Green}},
	}, nil
}

// matchTags reports whether inst carries the side tag asked for, if one
// is asked for: the embedded fleet selects by side and by nothing else
// (every instance of an embedded environment is its target).
func matchTags(inst fleet.Instance, tags map[string]string) bool {
	want, ok := tags[SideTag]
	return !ok || inst.Tags[SideTag] == want
}
