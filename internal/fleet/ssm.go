package fleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Parameters of the Slipway host-script Command document, as SSM passes
// them to it. The document the Slipway stack creates must declare every one
// of them as a String; all but SSMParamAction need a default of "" because
// Send leaves out the ones a command does not use.
const (
	// SSMParamAction is the host script's action.
	SSMParamAction = "action"
	// SSMParamVersion is the version to activate or roll back to.
	SSMParamVersion = "version"
	// SSMParamArtifactKey is the release bundle's key in the artifact
	// bucket, which the document pins: aws:downloadContent takes a bucket
	// and key, not an s3:// URI.
	SSMParamArtifactKey = "artifactKey"
	// SSMParamSHA256 is the bundle's expected SHA-256, hex encoded.
	SSMParamSHA256 = "sha256"
	// SSMParamDeploymentID names the deployment the command belongs to.
	SSMParamDeploymentID = "deploymentId"
	// SSMParamKeep is, for prune, how many releases to keep.
	SSMParamKeep = "keep"
	// SSMParamConfigFingerprint and SSMParamConfigEnv are, for activate
	// and rollback, the configuration the release runs with and the
	// environment whose values the host resolves.
	SSMParamConfigFingerprint = "configFingerprint"
	SSMParamConfigEnv         = "configEnv"
	// SSMParamResolver is "download" for an activate with a
	// configuration: the document downloads the host's configuration
	// resolver first.
	SSMParamResolver = "resolver"
	// SSMParamHook is, for hook, the hook to run (before_traffic or
	// after_traffic).
	SSMParamHook = "hook"
	// SSMParamExecutionTimeout is the run's timeout in seconds; the
	// document passes it to its aws:runShellScript step's timeoutSeconds.
	SSMParamExecutionTimeout = "executionTimeout"
)

// Limits of SSM Run Command that the adapter works within.
const (
	// ssmMaxTargets is how many instance IDs one SendCommand may name.
	ssmMaxTargets = 50
	// ssmMaxResults is the largest page of the list operations used.
	ssmMaxResults = 50
	// ssmCommentLimit is the length limit of a command's comment.
	ssmCommentLimit = 100
	// ssmStdoutLimit is how much stdout GetCommandInvocation returns
	// (ListCommandInvocations only the first 2,500 characters of a step's
	// output; S3 or CloudWatch Logs hold all of it).
	ssmStdoutLimit = 24000
	// ssmOutputFetches bounds concurrent GetCommandInvocation calls.
	ssmOutputFetches = 8
	// ssmOutputCacheSize bounds the full outputs an SSM keeps.
	ssmOutputCacheSize = 4096
)

// Markers the SSM agent writes into a step's output.
const (
	ssmOutputTruncated = "---Output truncated---"
	ssmErrorTruncated  = "---Error truncated----"
	ssmErrorSeparator  = "\n----------ERROR-------\n"
)

// SSMAPI is the part of the SSM client the fleet uses.
type SSMAPI interface {
	SendCommand(ctx context.Context, params *ssm.SendCommandInput, optFns ...func(*ssm.Options)) (*ssm.SendCommandOutput, error)
	ListCommands(ctx context.Context, params *ssm.ListCommandsInput, optFns ...func(*ssm.Options)) (*ssm.ListCommandsOutput, error)
	ListCommandInvocations(ctx context.Context, params *ssm.ListCommandInvocationsInput, optFns ...func(*ssm.Options)) (*ssm.ListCommandInvocationsOutput, error)
	GetCommandInvocation(ctx context.Context, params *ssm.GetCommandInvocationInput, optFns ...func(*ssm.Options)) (*ssm.GetCommandInvocationOutput, error)
	DescribeInstanceInformation(ctx context.Context, params *ssm.DescribeInstanceInformationInput, optFns ...func(*ssm.Options)) (*ssm.DescribeInstanceInformationOutput, error)
}

var _ SSMAPI = (*ssm.Client)(nil)

// SSM is the fleet on EC2: instances are SSM managed nodes, selected by
// tag, and commands run the Slipway host-script document with SSM Run
// Command. Its statuses follow Local's: only Success is success.
//
// An SSM must not be copied after first use: it caches the full output of
// finished invocations.
type SSM struct {
	// Client is the SSM client, usually an *ssm.Client.
	Client SSMAPI
	// DocumentName is the Slipway host-script Command document, which the
	// Slipway stack creates.
	DocumentName string
	// OutputBucket is the S3 bucket that keeps every invocation's full
	// output; empty means none.
	OutputBucket string
	// OutputPrefix is the key prefix under OutputBucket.
	OutputPrefix string
	// LogGroup is the CloudWatch Logs group that receives every
	// invocation's output; empty means none.
	LogGroup string
	// TimeoutSeconds bounds one run of the host script on one instance
	// (the document's executionTimeout); it is also the delivery timeout,
	// SendCommand's TimeoutSeconds, raised to SSM's minimum of 30. Zero
	// leaves both to the document's and SSM's defaults.
	TimeoutSeconds int32
	// HealthPort is appended to an instance's IP address to form its
	// Address; zero leaves the bare IP.
	HealthPort int

	mu      sync.Mutex
	outputs map[[2]string]string // full output of final invocations, by command and instance
}

// UnavailableInstancesError reports instances SSM cannot run a command on:
// not managed nodes, or their agent is not online (SSM's InvalidInstanceId).
type UnavailableInstancesError struct {
	// InstanceIDs are the instances at fault or, if they could not be told
	// apart, every instance of the rejected request.
	InstanceIDs []string
	// Err is the SDK's error.
	Err error
}

func (e *UnavailableInstancesError) Error() string {
	return fmt.Sprintf("instances %s are not SSM managed nodes or their agent is not online: check the SSM agent and the instance profile, or take them out of the target tags: %v",
		strings.Join(e.InstanceIDs, ", "), e.Err)
}

// Unwrap returns ErrUnknownInstance and the SDK's error.
func (e *UnavailableInstancesError) Unwrap() []error { return []error{ErrUnknownInstance, e.Err} }

// Instances lists the managed nodes that carry every tag in tags, sorted by
// ID. SSM does not return tags, so each Instance's Tags are the ones asked
// for. env only names the environment in errors; tags select. No tags is
// an error rather than every managed node in the account.
func (s *SSM) Instances(ctx context.Context, env string, tags map[string]string) ([]Instance, error) {
	if len(tags) == 0 {
		return nil, fmt.Errorf("list instances of %s: no tags to select them by (Slipway never targets every managed node)", env)
	}
	var filters []types.InstanceInformationStringFilter
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		filters = append(filters, types.InstanceInformationStringFilter{Key: aws.String("tag:" + k), Values: []string{tags[k]}})
	}
	infos, err := s.describe(ctx, filters)
	if err != nil {
		return nil, fmt.Errorf("list instances of %s: %w", env, err)
	}
	out := make([]Instance, 0, len(infos))
	for _, info := range infos {
		inst := s.instance(info)
		inst.Tags = maps.Clone(tags)
		out = append(out, inst)
	}
	slices.SortFunc(out, func(a, b Instance) int { return compareIDs(a.ID, b.ID) })
	return out, nil
}

// Lookup returns the named instances that SSM knows, in the order of ids;
// an instance it does not know is left out. Their Tags are nil.
func (s *SSM) Lookup(ctx context.Context, env string, ids []string) ([]Instance, error) {
	ids = uniq(ids)
	found := make(map[string]Instance, len(ids))
	for chunk := range slices.Chunk(ids, ssmMaxResults) {
		infos, err := s.describe(ctx, []types.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: chunk}})
		if err != nil {
			return nil, fmt.Errorf("look up instances of %s: %w", env, err)
		}
		for _, info := range infos {
			inst := s.instance(info)
			found[inst.ID] = inst
		}
	}
	out := make([]Instance, 0, len(found))
	for _, id := range ids {
		if inst, ok := found[id]; ok {
			out = append(out, inst)
		}
	}
	return out, nil
}

// describe reads every page of DescribeInstanceInformation.
func (s *SSM) describe(ctx context.Context, filters []types.InstanceInformationStringFilter) ([]types.InstanceInformation, error) {
	p := ssm.NewDescribeInstanceInformationPaginator(s.Client, &ssm.DescribeInstanceInformationInput{
		Filters:    filters,
		MaxResults: aws.Int32(ssmMaxResults),
	})
	var out []types.InstanceInformation
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.InstanceInformationList...)
	}
	return out, nil
}

func (s *SSM) instance(info types.InstanceInformation) Instance {
	addr := aws.ToString(info.IPAddress)
	if addr != "" && s.HealthPort > 0 {
		addr = net.JoinHostPort(addr, strconv.Itoa(s.HealthPort))
	}
	return Instance{ID: aws.ToString(info.InstanceId), Address: addr, Online: info.PingStatus == types.PingStatusOnline}
}

// Send runs cmd on its instances with the host-script document and returns
// the command's ID. SSM takes at most 50 instance IDs per command, so a
// larger cmd is sent as several commands and the ID is theirs joined by
// commas ("cmdA,cmdB"), which Status accepts. Every command has MaxErrors
// "0" and MaxConcurrency "100%": the caller's waves do the rate control.
//
// If a later part is refused after earlier parts were sent, Send returns
// the IDs of the parts sent with the error, so the caller can follow or
// cancel them.
func (s *SSM) Send(ctx context.Context, env string, cmd Command) (string, error) {
	if err := s.validate(cmd); err != nil {
		return "", fmt.Errorf("send %s to %s: %w", cmd.Action, env, err)
	}
	params := s.parameters(cmd)
	comment := truncateRunes(strings.Join(strings.Fields("slipway "+cmd.DeploymentID+" "+cmd.Action+" "+cmd.Version), " "), ssmCommentLimit)
	var ids []string
	for chunk := range slices.Chunk(cmd.InstanceIDs, ssmMaxTargets) {
		in := &ssm.SendCommandInput{
			DocumentName:   aws.String(s.DocumentName),
			InstanceIds:    chunk,
			Parameters:     params,
			MaxErrors:      aws.String("0"),
			MaxConcurrency: aws.String("100%"),
			Comment:        aws.String(comment),
		}
		if s.TimeoutSeconds > 0 {
			in.TimeoutSeconds = aws.Int32(max(s.TimeoutSeconds, 30))
		}
		if s.OutputBucket != "" {
			in.OutputS3BucketName = aws.String(s.OutputBucket)
			if s.OutputPrefix != "" {
				in.OutputS3KeyPrefix = aws.String(s.OutputPrefix)
			}
		}
		if s.LogGroup != "" {
			in.CloudWatchOutputConfig = &types.CloudWatchOutputConfig{CloudWatchOutputEnabled: true, CloudWatchLogGroupName: aws.String(s.LogGroup)}
		}
		out, err := s.Client.SendCommand(ctx, in)
		if err != nil {
			err = s.explainSend(ctx, env, chunk, err)
			if len(ids) > 0 {
				sent := strings.Join(ids, ",")
				return sent, fmt.Errorf("send %s to %s: sent to the first %d instances as %s, then: %w", cmd.Action, env, len(ids)*ssmMaxTargets, sent, err)
			}
			return "", fmt.Errorf("send %s to %s: %w", cmd.Action, env, err)
		}
		if out.Command == nil || aws.ToString(out.Command.CommandId) == "" {
			return strings.Join(ids, ","), fmt.Errorf("send %s to %s: SSM returned no command ID", cmd.Action, env)
		}
		ids = append(ids, aws.ToString(out.Command.CommandId))
	}
	return strings.Join(ids, ","), nil
}

// validate checks cmd before anything is sent.
func (s *SSM) validate(cmd Command) error {
	if s.DocumentName == "" {
		return errors.New("no SSM document name configured")
	}
	switch cmd.Action {
	case ActionActivate:
		if cmd.Version == "" || cmd.ArtifactURI == "" || cmd.SHA256 == "" {
			return fmt.Errorf("activate needs a version, an artifact URI and a SHA-256: %w", ErrInvalidCommand)
		}
		if !strings.HasPrefix(cmd.ArtifactURI, "s3://") || artifactKey(cmd.ArtifactURI) == "" {
			return fmt.Errorf("artifact URI %q is not s3://bucket/key (instances fetch bundles from S3): %w", cmd.ArtifactURI, ErrInvalidCommand)
		}
	case ActionRollback, ActionStatus:
	case ActionHook:
		if !TrafficHook(cmd.Hook) || cmd.Version == "" {
			return fmt.Errorf("hook needs before_traffic or after_traffic (not %q) and a version: %w", cmd.Hook, ErrInvalidCommand)
		}
	case ActionPrune:
		if cmd.Keep < 0 {
			return fmt.Errorf("prune keep %d is negative: %w", cmd.Keep, ErrInvalidCommand)
		}
	default:
		return fmt.Errorf("unknown action %q: %w", cmd.Action, ErrInvalidCommand)
	}
	if cmd.ConfigFingerprint != "" && (!fingerprintRE().MatchString(cmd.ConfigFingerprint) || cmd.ConfigEnv == "") {
		return fmt.Errorf("configuration fingerprint %q is not ALGORITHM:HEX, or names no environment: %w", cmd.ConfigFingerprint, ErrInvalidCommand)
	}
	if len(cmd.InstanceIDs) == 0 {
		return fmt.Errorf("no instance IDs: %w", ErrInvalidCommand)
	}
	seen := make(map[string]bool, len(cmd.InstanceIDs))
	for _, id := range cmd.InstanceIDs {
		if id == "" || seen[id] {
			return fmt.Errorf("instance %q listed twice or empty: %w", id, ErrInvalidCommand)
		}
		seen[id] = true
	}
	return nil
}

// fingerprintRE is what the document's configFingerprint parameter allows,
// compiled on first use: its bounded repeats are costly to compile at
// package init, which every CLI command pays.
var fingerprintRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9-]{1,32}:[0-9a-f]{16,128}$`) })

// parameters returns the document parameters for cmd, leaving out empty ones.
func (s *SSM) parameters(cmd Command) map[string][]string {
	p := map[string][]string{SSMParamAction: {cmd.Action}}
	set := func(k, v string) {
		if v != "" {
			p[k] = []string{v}
		}
	}
	set(SSMParamVersion, cmd.Version)
	set(SSMParamArtifactKey, artifactKey(cmd.ArtifactURI))
	set(SSMParamSHA256, cmd.SHA256)
	set(SSMParamDeploymentID, cmd.DeploymentID)
	if cmd.Action == ActionActivate || cmd.Action == ActionRollback {
		set(SSMParamConfigFingerprint, cmd.ConfigFingerprint)
		if cmd.ConfigFingerprint != "" {
			set(SSMParamConfigEnv, cmd.ConfigEnv)
			if cmd.Action == ActionActivate {
				set(SSMParamResolver, "download")
			}
		}
	}
	if cmd.Action == ActionHook {
		set(SSMParamHook, cmd.Hook)
	}
	if cmd.Action == ActionPrune && cmd.Keep > 0 {
		set(SSMParamKeep, strconv.Itoa(cmd.Keep))
	}
	if s.TimeoutSeconds > 0 {
		set(SSMParamExecutionTimeout, strconv.Itoa(int(s.TimeoutSeconds)))
	}
	return p
}

// explainSend turns SendCommand's errors into ones that say what to do.
func (s *SSM) explainSend(ctx context.Context, env string, ids []string, err error) error {
	var badInstance *types.InvalidInstanceId
	var badDocument *types.InvalidDocument
	var badParams *types.InvalidParameters
	var badOutput *types.InvalidOutputFolder
	switch {
	case errors.As(err, &badInstance):
		return &UnavailableInstancesError{InstanceIDs: s.unavailable(ctx, env, ids), Err: err}
	case errors.As(err, &badDocument):
		return fmt.Errorf("SSM document %q does not exist in this account and region: deploy the Slipway stack, which creates it, or fix the document name: %w", s.DocumentName, err)
	case errors.As(err, &badParams):
		return fmt.Errorf("SSM document %q does not take Slipway's parameters: deploy the current Slipway stack: %w", s.DocumentName, err)
	case errors.As(err, &badOutput):
		return fmt.Errorf("output bucket %q cannot take command output: %w", s.OutputBucket, err)
	}
	return err
}

// unavailable returns those of ids that are not online managed nodes, or
// all of ids if that cannot be told.
func (s *SSM) unavailable(ctx context.Context, env string, ids []string) []string {
	found, err := s.Lookup(ctx, env, ids)
	if err != nil {
		return slices.Clone(ids)
	}
	online := make(map[string]bool, len(found))
	for _, inst := range found {
		online[inst.ID] = inst.Online
	}
	var bad []string
	for _, id := range ids {
		if !online[id] {
			bad = append(bad, id)
		}
	}
	if len(bad) == 0 {
		return slices.Clone(ids)
	}
	return bad
}

// Status returns the state of a command Send returned, with one Invocation
// per instance in the order the instances were sent. An invocation is a
// success only if SSM says Success and the script exited 0; every other
// final state, DeliveryTimedOut included (which SSM itself does not count
// against MaxErrors), is a failure. The command is InProgress until every
// invocation is final.
//
// ListCommandInvocations returns only the first 2,500 characters of a
// step's output. When an invocation is final and its output was cut,
// Status reads the first 24,000 characters of stdout (and 8,000 of stderr)
// with GetCommandInvocation, once per invocation; the whole output is only
// in S3 or CloudWatch Logs, where OutputBucket and LogGroup send it.
func (s *SSM) Status(ctx context.Context, commandID string) (CommandResult, error) {
	res := CommandResult{CommandID: commandID}
	for _, id := range strings.Split(commandID, ",") {
		if id == "" {
			return CommandResult{}, fmt.Errorf("get command %q: %w", commandID, ErrUnknownCommand)
		}
		invs, err := s.status(ctx, id)
		if err != nil {
			return CommandResult{}, err
		}
		res.Invocations = append(res.Invocations, invs...)
	}
	res.Status = Aggregate(res.Invocations)
	if len(res.Invocations) == 0 {
		res.Status = StatusInProgress
	}
	return res, nil
}

// status returns the invocations of one SSM command.
func (s *SSM) status(ctx context.Context, commandID string) ([]Invocation, error) {
	listed, err := s.Client.ListCommands(ctx, &ssm.ListCommandsInput{CommandId: aws.String(commandID)})
	var badID *types.InvalidCommandId
	if errors.As(err, &badID) {
		return nil, fmt.Errorf("get command %s: %w", commandID, errors.Join(ErrUnknownCommand, err))
	}
	if err != nil {
		return nil, fmt.Errorf("get command %s: %w", commandID, err)
	}
	if len(listed.Commands) == 0 {
		return nil, fmt.Errorf("get command %s: %w", commandID, ErrUnknownCommand)
	}
	command := listed.Commands[0]

	p := ssm.NewListCommandInvocationsPaginator(s.Client, &ssm.ListCommandInvocationsInput{
		CommandId:  aws.String(commandID),
		Details:    true,
		MaxResults: aws.Int32(ssmMaxResults),
	})
	named := make(map[string]bool, len(command.InstanceIds))
	for _, id := range command.InstanceIds {
		named[id] = true
	}
	byID := make(map[string]Invocation, len(command.InstanceIds))
	var extra []string   // instances the command did not name (sent by target)
	var cut []Invocation // final invocations whose output was cut
	var cutPlugins [][]types.CommandPlugin
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list invocations of command %s: %w", commandID, err)
		}
		for _, ci := range page.CommandInvocations {
			inv, truncated := invocation(ci)
			id := inv.InstanceID
			if _, dup := byID[id]; dup {
				continue
			}
			byID[id] = inv
			if !named[id] {
				extra = append(extra, id)
			}
			if truncated && inv.Final() {
				cut = append(cut, inv)
				cutPlugins = append(cutPlugins, ci.CommandPlugins)
			}
		}
	}
	if len(cut) > 0 {
		if err := s.fullOutputs(ctx, commandID, cut, cutPlugins); err != nil {
			return nil, fmt.Errorf("get command %s: %w", commandID, err)
		}
		for _, inv := range cut {
			byID[inv.InstanceID] = inv
		}
	}

	var commandFinal bool
	switch command.Status {
	case types.CommandStatusSuccess, types.CommandStatusFailed, types.CommandStatusCancelled, types.CommandStatusTimedOut:
		commandFinal = true
	}
	slices.SortFunc(extra, compareIDs)
	out := make([]Invocation, 0, len(command.InstanceIds)+len(extra))
	for _, id := range append(slices.Clone(command.InstanceIds), extra...) {
		inv, ok := byID[id]
		switch {
		case ok:
		case commandFinal:
			inv = Invocation{InstanceID: id, Status: StatusUndeliverable, ExitCode: -1,
				Output: fmt.Sprintf("ssm: command %s ended %s without an invocation on this instance\n", commandID, command.Status)}
		default:
			inv = Invocation{InstanceID: id, Status: StatusPending, ExitCode: -1}
		}
		out = append(out, inv)
	}
	return out, nil
}

// invocation converts an SSM invocation; it reports whether the output of
// one of its steps was cut.
func invocation(ci types.CommandInvocation) (Invocation, bool) {
	inv := Invocation{
		InstanceID: aws.ToString(ci.InstanceId),
		Status:     invocationStatus(ci.Status, aws.ToString(ci.StatusDetails)),
		ExitCode:   -1,
	}
	var outputs []string
	truncated := false
	exit := 0
	for _, pl := range ci.CommandPlugins {
		if t := aws.ToTime(pl.ResponseStartDateTime); t.Unix() > 0 && (inv.StartedAt.IsZero() || t.Before(inv.StartedAt)) {
			inv.StartedAt = t
		}
		if t := aws.ToTime(pl.ResponseFinishDateTime); t.Unix() > 0 && t.After(inv.FinishedAt) {
			inv.FinishedAt = t
		}
		if o := aws.ToString(pl.Output); o != "" {
			outputs = append(outputs, o)
			truncated = truncated || strings.Contains(o, ssmOutputTruncated) || strings.Contains(o, ssmErrorTruncated)
		}
		if exit == 0 && pl.ResponseCode != 0 {
			exit = int(pl.ResponseCode)
		}
		if inv.Status == StatusSuccess && (pl.ResponseCode != 0 || pl.Status != types.CommandPluginStatusSuccess) {
			inv.Status = StatusFailed // strict: one step that did not succeed fails the invocation
		}
	}
	switch inv.Status {
	case StatusSuccess:
		inv.ExitCode = 0
	case StatusFailed:
		if len(ci.CommandPlugins) > 0 {
			inv.ExitCode = exit
		}
	}
	if !inv.Final() {
		inv.FinishedAt = time.Time{}
	}
	inv.Output = truncateOutput(strings.Join(outputs, "\n"), MaxOutput)
	return inv, truncated
}

// invocationStatus maps SSM's Status and StatusDetails to one of the
// Status constants. StatusDetails tells apart what Status lumps together
// (a delivery timeout from an execution timeout, Undeliverable,
// Terminated); a status this code does not know counts as Failed.
func invocationStatus(status types.CommandInvocationStatus, details string) string {
	switch strings.ToLower(strings.ReplaceAll(details, " ", "")) {
	case "deliverytimedout":
		return StatusDeliveryTimedOut
	case "executiontimedout":
		return StatusTimedOut
	case "undeliverable":
		return StatusUndeliverable
	case "terminated":
		return StatusTerminated
	case "failed":
		return StatusFailed
	case "cancelled", "canceled":
		return StatusCancelled
	}
	switch status {
	case types.CommandInvocationStatusPending, types.CommandInvocationStatusDelayed:
		return StatusPending
	case types.CommandInvocationStatusInProgress, types.CommandInvocationStatusCancelling:
		return StatusInProgress
	case types.CommandInvocationStatusSuccess:
		return StatusSuccess
	case types.CommandInvocationStatusCancelled:
		return StatusCancelled
	case types.CommandInvocationStatusTimedOut:
		return StatusTimedOut
	case "":
		return StatusPending
	}
	return StatusFailed
}

// fullOutputs replaces the cut output of each of invs with what
// GetCommandInvocation returns, from the cache when it has it. A failed
// read keeps the cut output with a note, so Status still answers.
func (s *SSM) fullOutputs(ctx context.Context, commandID string, invs []Invocation, plugins [][]types.CommandPlugin) error {
	sem := make(chan struct{}, ssmOutputFetches)
	var wg sync.WaitGroup
	for i := range invs {
		if out, ok := s.cached(commandID, invs[i].InstanceID); ok {
			invs[i].Output = out
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out, err := s.fullOutput(ctx, commandID, invs[i].InstanceID, plugins[i])
			if err != nil {
				invs[i].Output = truncateOutput(invs[i].Output+"\n"+s.outputNote(fmt.Sprintf("read full output: %v", err)), MaxOutput)
				return
			}
			invs[i].Output = out
			s.cache(commandID, invs[i].InstanceID, out)
		})
	}
	wg.Wait()
	return ctx.Err()
}

// fullOutput reads an invocation's output step by step.
func (s *SSM) fullOutput(ctx context.Context, commandID, instanceID string, plugins []types.CommandPlugin) (string, error) {
	var parts []string
	for _, pl := range plugins {
		o := aws.ToString(pl.Output)
		if !strings.Contains(o, ssmOutputTruncated) && !strings.Contains(o, ssmErrorTruncated) {
			if o != "" {
				parts = append(parts, o)
			}
			continue
		}
		got, err := s.Client.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{
			CommandId:  aws.String(commandID),
			InstanceId: aws.String(instanceID),
			PluginName: pl.Name,
		})
		if err != nil {
			return "", fmt.Errorf("get invocation of %s on %s: %w", commandID, instanceID, err)
		}
		out := aws.ToString(got.StandardOutputContent)
		if len(out) >= ssmStdoutLimit {
			out += "\n" + s.outputNote("SSM returns only the first 24,000 characters of stdout")
		}
		if stderr := aws.ToString(got.StandardErrorContent); stderr != "" {
			out += ssmErrorSeparator + stderr
		}
		parts = append(parts, out)
	}
	return truncateOutput(strings.Join(parts, "\n"), MaxOutput), nil
}

// outputNote says that output is incomplete and where all of it is.
func (s *SSM) outputNote(why string) string {
	where := "configure an output bucket or log group to keep all of it"
	switch {
	case s.OutputBucket != "" && s.LogGroup != "":
		where = fmt.Sprintf("all of it is under s3://%s/%s and in CloudWatch Logs group %s", s.OutputBucket, s.OutputPrefix, s.LogGroup)
	case s.OutputBucket != "":
		where = fmt.Sprintf("all of it is under s3://%s/%s", s.OutputBucket, s.OutputPrefix)
	case s.LogGroup != "":
		where = fmt.Sprintf("all of it is in CloudWatch Logs group %s", s.LogGroup)
	}
	return fmt.Sprintf("slipway: output incomplete (%s); %s\n", why, where)
}

func (s *SSM) cached(commandID, instanceID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, ok := s.outputs[[2]string{commandID, instanceID}]
	return out, ok
}

func (s *SSM) cache(commandID, instanceID, out string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outputs == nil || len(s.outputs) >= ssmOutputCacheSize {
		s.outputs = make(map[[2]string]string)
	}
	s.outputs[[2]string{commandID, instanceID}] = out
}

// uniq returns ids without repeats, in order.
func uniq(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// truncateRunes keeps the first limit runes of s.
func truncateRunes(s string, limit int) string {
	r := []rune(s)
	if len(r) <= limit {
		return s
	}
	return string(r[:limit])
}

// artifactKey is the key part of s3://bucket/key ("" if there is none).
func artifactKey(uri string) string {
	rest := strings.TrimPrefix(uri, "s3://")
	i := strings.Index(rest, "/")
	if i < 0 {
		return ""
	}
	return rest[i+1:]
}
