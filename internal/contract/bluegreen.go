package contract

// Blue/green actions of the bluegreen function (pipeline.BlueGreen).
const (
	// The deploy function's actions that run them (DeployInput.BlueGreen).
	DeployBlueGreenPlan       = "bluegreen-plan"
	DeployBlueGreenAwait      = "bluegreen-await"
	DeployBlueGreenShift      = "bluegreen-shift"
	DeployBlueGreenSwitchBack = "bluegreen-switch-back"

	// BlueGreenPlan reads the listener's weights: which side serves now,
	// which is idle and gets the release, and the idle side's instances.
	BlueGreenPlan = "plan"
	// BlueGreenAwait registers the idle side's instances in its target
	// group (weight 0: no traffic yet) and reports whether the balancer
	// itself says they are all healthy.
	BlueGreenAwait = "await"
	// BlueGreenShift sets the listener's weights for the next shift step
	// in one call.
	BlueGreenShift = "shift"
	// BlueGreenSwitchBack sets all the weight back on the side that served
	// before, in one call, and measures how long that took. No instance is
	// restarted.
	BlueGreenSwitchBack = "switch_back"
)

// BlueGreenInput is what the state machine passes the bluegreen function.
type BlueGreenInput struct {
	Action       string `json:"action"`
	DeploymentID string `json:"deployment_id"`
	App          string `json:"app"`
	Environment  string `json:"environment"`
	// Shift is the new side's weight, in percent, at each step (the
	// manifest's rollout.shift); used by plan.
	Shift []int `json:"shift,omitempty"`
	// MaxAwaitAttempts bounds await (plan; default 60).
	MaxAwaitAttempts int `json:"max_await_attempts,omitempty"`
	// ShiftBakeSeconds is how long each step but the last bakes (the
	// manifest's rollout.shift_bake); BakeSeconds how long the last one
	// bakes (bake.duration). Used by plan.
	ShiftBakeSeconds int `json:"shift_bake_seconds,omitempty"`
	BakeSeconds      int `json:"bake_seconds,omitempty"`
	// BlueGreen is the state from plan, for every other action.
	BlueGreen *BlueGreenState `json:"blue_green,omitempty"`
}

// BlueGreenState is a blue/green deployment's progress, carried in the
// execution's state.
type BlueGreenState struct {
	Listener string `json:"listener"`
	// Serving is the side ("blue" or "green") that served when the
	// deployment began, and the one a rollback switches back to; Idle gets
	// the release.
	Serving      string `json:"serving"`
	Idle         string `json:"idle"`
	ServingGroup string `json:"serving_group"`
	IdleGroup    string `json:"idle_group"`
	// ServingTags and IdleTags select each side's instances (empty for a
	// side given by Auto Scaling groups). ObserveTags are the tags of the
	// side that has the weight now: what the final observation must look
	// at, since the other side runs another release on purpose.
	ServingTags map[string]string `json:"serving_tags,omitempty"`
	IdleTags    map[string]string `json:"idle_tags,omitempty"`
	ObserveTags map[string]string `json:"observe_tags,omitempty"`
	// IdleInstances are the idle side's instances: the ones deployed to.
	IdleInstances []string `json:"idle_instances"`
	// ServingInstances are the serving side's: a switch back after
	// weight moved runs the after_traffic hook of the release they serve
	// on them.
	ServingInstances []string `json:"serving_instances,omitempty"`
	// Steps are the idle side's cumulative weights; Step is how many are done.
	Steps []int `json:"steps"`
	Step  int   `json:"step"`
	// Weight is the idle side's weight now (percent).
	Weight int `json:"weight"`
	// Healthy: the balancer reports every idle instance healthy (await).
	Healthy bool   `json:"healthy"`
	Waiting string `json:"waiting,omitempty"`
	// AwaitAttempts counts await calls; past MaxAwaitAttempts the idle
	// side is given up on (it never got weight).
	AwaitAttempts    int `json:"await_attempts"`
	MaxAwaitAttempts int `json:"max_await_attempts"`
	// Shifted: the last step is done, the new side serves everything.
	Shifted bool `json:"shifted"`
	// ShiftBakeSeconds and FinalBakeSeconds are how long a step bakes, the
	// last one FinalBakeSeconds (bake.duration), the others
	// ShiftBakeSeconds (rollout.shift_bake). StepBakeSeconds is the bake
	// of the step shift just made: what ShiftCheckAlarms waits out.
	ShiftBakeSeconds int `json:"shift_bake_seconds"`
	FinalBakeSeconds int `json:"final_bake_seconds"`
	StepBakeSeconds  int `json:"step_bake_seconds"`
	// SwitchBackMillis is how long the switch back took, from the decision
	// until the listener's weights were read back on the serving side.
	SwitchBackMillis int64 `json:"switch_back_ms,omitempty"`
	SwitchedBack     bool  `json:"switched_back,omitempty"`
}

// BlueGreenSpec is a blue/green deployment's plan from preflight: set only
// when the manifest's rollout.strategy is blue-green (the Strategy? choice
// before the rollout tests for it).
type BlueGreenSpec struct {
	// Shift is the new side's cumulative weight at each step (percent).
	Shift []int `json:"shift"`
	// ShiftBakeSeconds is each step's bake, with the alarms checked.
	ShiftBakeSeconds int `json:"shift_bake_seconds"`
	// KeepWarmSeconds is how long the old side stays warm after success.
	KeepWarmSeconds int `json:"keep_warm_seconds"`
}
