package stack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
)

// Config is the configuration of one Slipway deployment on AWS: the app, the
// account and region it runs in, and what each of its environments is bound
// to. It is read from a JSON file (see docs/aws.md); every key is in
// snake_case, and an unknown key is an error so that a typo fails the synth.
type Config struct {
	// App names the application; it prefixes every resource name.
	App string `json:"app"`
	// Account and Region are where the stack is deployed. They are explicit
	// so that the synth needs no AWS credentials and makes no look-ups.
	Account string `json:"account"`
	Region  string `json:"region"`
	// VPC is where the functions that reach the database and the instances
	// (preflight, migrate, health) run.
	VPC VPCConfig `json:"vpc"`
	// Git says which pushes deploy, and to which environment.
	Git GitConfig `json:"git"`
	// Environments are the deploy targets, by name (e.g. staging, production).
	Environments map[string]EnvironmentConfig `json:"environments"`

	// HealthPort is the port the app's health check answers on (default 80).
	HealthPort int `json:"health_port,omitempty"`
	// CommandTimeoutSeconds bounds one activation on a host (default 600).
	CommandTimeoutSeconds int `json:"command_timeout_seconds,omitempty"`
	// LogRetentionDays is how long function and state machine logs are kept
	// (default 30; a value CloudWatch Logs accepts).
	LogRetentionDays int `json:"log_retention_days,omitempty"`
	// ArtifactRetentionDays is how long a release bundle is kept in the
	// artifact bucket after upload (default 365; 0 keeps them forever).
	// Replaced or deleted versions are removed after 30 days.
	ArtifactRetentionDays *int `json:"artifact_retention_days,omitempty"`
	// NotificationEmails are subscribed to the notification topic (optional).
	NotificationEmails []string `json:"notification_emails,omitempty"`
	// InstanceRoleName, when set, names the existing IAM role of the app's
	// instances; the stack attaches the policy they need (read the artifact
	// bucket). Otherwise attach the stack's InstancePolicyArn output yourself.
	InstanceRoleName string `json:"instance_role_name,omitempty"`
	// GitHubActions, when set, creates a role that GitHub Actions
	// workflows of one repository and branch assume through GitHub's OIDC
	// provider, allowed only to publish the app's releases and to put
	// slipway.git events (examples/github-actions/deploy.yml).
	GitHubActions *GitHubActionsConfig `json:"github_actions,omitempty"`
}

// VPCConfig names the existing network the VPC functions join.
type VPCConfig struct {
	ID              string   `json:"id"`
	SubnetIDs       []string `json:"subnet_ids"`
	SecurityGroupID string   `json:"security_group_id"`
}

// GitConfig says which pushes deploy.
type GitConfig struct {
	// Repository is the CodeCommit repository name, or the detail.repository
	// of slipway.git push events (e.g. github.com/acme/shop).
	Repository string `json:"repository"`
	// Branch is the branch whose pushes deploy (e.g. main).
	Branch string `json:"branch"`
	// Environment is the environment pushes deploy to (default staging).
	Environment string `json:"environment,omitempty"`
}

// GitHubActionsConfig names who may assume the GitHub Actions role.
type GitHubActionsConfig struct {
	// Repository is owner/name on GitHub.
	Repository string `json:"repository"`
	// Branch is the branch whose workflow runs may assume the role.
	Branch string `json:"branch"`
	// CreateOIDCProvider creates the account's GitHub OIDC provider
	// (token.actions.githubusercontent.com); without it the stack uses
	// the one the account has (an account has at most one per URL).
	CreateOIDCProvider bool `json:"create_oidc_provider,omitempty"`
	// PullRequests also creates a role the repository's pull_request
	// workflow runs assume, allowed only to read the app's releases and to
	// publish builds under versions that start with "pr-" (no push event:
	// a pull request never deploys), for the release notes it posts on the
	// pull request (examples/github-actions/pr-notes.yml).
	PullRequests bool `json:"pull_requests,omitempty"`
}

// EnvironmentConfig is one deploy target.
type EnvironmentConfig struct {
	// Production environments need an approval and get the strictest defaults.
	Production bool `json:"production,omitempty"`
	// Tags select the environment's instances; SSM commands may only reach
	// instances that carry all of them.
	Tags map[string]string `json:"tags"`
	// Database is the environment's RDS database.
	Database DatabaseConfig `json:"database"`
	// Alarms are the CloudWatch alarms whose move to ALARM starts a rollback
	// of this environment, and that the health check watches.
	Alarms []string `json:"alarms,omitempty"`
	// TargetGroups are the ELBv2 target groups (ARNs) the environment's
	// instances serve behind: each wave is deregistered, drained, deployed
	// and registered again. The deploy and rollback roles may register and
	// deregister targets of these groups only.
	TargetGroups []string `json:"target_groups,omitempty"`
	// AutoScalingGroups are the Auto Scaling groups (names) whose
	// instances belong to the environment: the stack puts a launch
	// lifecycle hook on each, and the lifecycle function puts a new
	// instance into service only once it runs the environment's release.
	// The instances must carry the environment's tags.
	AutoScalingGroups []string `json:"auto_scaling_groups,omitempty"`
	// BlueGreen splits the environment in two sides behind one listener,
	// for releases whose manifest says rollout.strategy: blue-green. The
	// deploy function may modify only this listener (or listener rule) and
	// register and deregister targets of the sides' target groups only.
	BlueGreen *BlueGreenConfig `json:"blue_green,omitempty"`
	// Endpoint is the URL that serves the environment through its load
	// balancer (https://the-alb-dns-name): the manifest's smoke checks run
	// through it after the last wave, from the health function (in the
	// VPC, so the URL must be reachable from its subnets).
	Endpoint string `json:"endpoint,omitempty"`
}

// BlueGreenConfig is an environment's blue/green setup (internal/config
// BlueGreen): the listener or listener rule whose weighted forward action
// sends traffic to both sides, and the two sides.
type BlueGreenConfig struct {
	// Listener is the listener ARN, or the listener rule ARN.
	Listener string     `json:"listener"`
	Blue     SideConfig `json:"blue"`
	Green    SideConfig `json:"green"`
}

// SideConfig is one side of a blue/green environment: its target group
// (ARN) and its instances, by tags or by Auto Scaling groups (names).
type SideConfig struct {
	TargetGroup       string            `json:"target_group"`
	Tags              map[string]string `json:"tags,omitempty"`
	AutoScalingGroups []string          `json:"auto_scaling_groups,omitempty"`
}

// LaunchGroups are the Auto Scaling groups whose launches get the
// environment's release (a launch hook on each): its own and its
// blue/green sides', each once.
func (e EnvironmentConfig) LaunchGroups() []string {
	out := append([]string(nil), e.AutoScalingGroups...)
	if bg := e.BlueGreen; bg != nil {
		for _, g := range append(append([]string(nil), bg.Blue.AutoScalingGroups...), bg.Green.AutoScalingGroups...) {
			if !contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return out
}

// SideGroups reports whether a blue/green side of the environment is
// given by Auto Scaling groups: the lifecycle function then reads the
// listener to tell which release a launched instance gets.
func (e EnvironmentConfig) SideGroups() bool {
	return e.BlueGreen != nil && len(e.BlueGreen.Blue.AutoScalingGroups)+len(e.BlueGreen.Green.AutoScalingGroups) > 0
}

// IsRule reports whether the configured listener is a listener rule.
func (b *BlueGreenConfig) IsRule() bool {
	m := listenerARNPattern.FindStringSubmatch(b.Listener)
	return m != nil && m[3] == "listener-rule"
}

// DatabaseConfig is an environment's database.
type DatabaseConfig struct {
	// Identifier is the DB instance identifier, or the DB cluster identifier
	// for an Aurora engine.
	Identifier string `json:"identifier"`
	// Engine is postgres, mysql, mariadb, aurora-postgresql or aurora-mysql.
	Engine string `json:"engine"`
	// SecretARN is the Secrets Manager secret holding the connection
	// (RDS-style JSON: engine, host, port, username, password, dbname).
	SecretARN string `json:"secret_arn"`
	// SecretKMSKeyARN is the customer managed KMS key that encrypts the
	// secret, if it is not the default aws/secretsmanager key.
	SecretKMSKeyARN string `json:"secret_kms_key_arn,omitempty"`
}

// Defaults.
const (
	DefaultHealthPort            = 80
	DefaultCommandTimeoutSeconds = 600
	DefaultLogRetentionDays      = 30
	DefaultArtifactRetentionDays = 365
	DefaultPushEnvironment       = "staging"
)

// Cluster reports whether the database is an Aurora cluster.
func (d DatabaseConfig) Cluster() bool { return strings.HasPrefix(d.Engine, "aurora-") }

// EnvironmentNames lists the environments, sorted.
func (c *Config) EnvironmentNames() []string {
	names := make([]string, 0, len(c.Environments))
	for n := range c.Environments {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Partition is the AWS partition of the configured region.
func (c *Config) Partition() string {
	switch {
	case strings.HasPrefix(c.Region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(c.Region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// ConfigError lists everything wrong with a configuration, each problem
// naming its key.
type ConfigError struct {
	Source   string
	Problems []string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("slipway AWS configuration %s is invalid (see docs/aws.md):\n  %s", e.Source, strings.Join(e.Problems, "\n  "))
}

// LoadConfig reads and checks a configuration file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("slipway AWS configuration %s does not exist: write it (docs/aws.md lists the keys) or point the CDK context key %q at another file, e.g. `npx cdk synth -c %s=path/to/config.json`", path, ContextKey, ContextKey)
	}
	if err != nil {
		return nil, fmt.Errorf("read slipway AWS configuration: %w", err)
	}
	return ParseConfig(path, b)
}

// ParseConfig decodes a configuration from JSON, fills in the defaults and
// checks it. source names where it came from, for messages.
func ParseConfig(source string, data []byte) (*Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, &ConfigError{Source: source, Problems: []string{"not valid JSON for this configuration: " + err.Error()}}
	}
	c.defaults()
	if problems := c.validate(); len(problems) > 0 {
		return nil, &ConfigError{Source: source, Problems: problems}
	}
	return &c, nil
}

func (c *Config) defaults() {
	if c.HealthPort == 0 {
		c.HealthPort = DefaultHealthPort
	}
	if c.CommandTimeoutSeconds == 0 {
		c.CommandTimeoutSeconds = DefaultCommandTimeoutSeconds
	}
	if c.LogRetentionDays == 0 {
		c.LogRetentionDays = DefaultLogRetentionDays
	}
	if c.ArtifactRetentionDays == nil {
		d := DefaultArtifactRetentionDays
		c.ArtifactRetentionDays = &d
	}
	if c.Git.Environment == "" {
		c.Git.Environment = DefaultPushEnvironment
	}
}

var (
	// app and environment names go into resource names and RDS snapshot
	// ids, which have no "--" and no trailing "-".
	appPattern     = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	envPattern     = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$`)
	vpcPattern     = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetPattern  = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	sgPattern      = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
	dbIDPattern    = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{0,62}$`)
	alarmPattern   = regexp.MustCompile(`^[^\s*?][^*?]{0,254}$`)
	// A CodeCommit name, or a path such as github.com/acme/shop.
	repoPattern           = regexp.MustCompile(`^[\w.-]{1,100}(/[\w.-]{1,100}){0,4}$`)
	githubRepoPattern     = regexp.MustCompile(`^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$`)
	branchPattern         = regexp.MustCompile(`^[^\s*?\[~^:\\]{1,255}$`)
	tagKeyPattern         = regexp.MustCompile(`^[\w.:/=+@-]{1,128}$`)
	tagValuePattern       = regexp.MustCompile(`^[\w.:/=+@ -]{0,256}$`)
	asgNamePattern        = regexp.MustCompile(`^[A-Za-z0-9._-]{1,255}$`)
	listenerARNPattern    = regexp.MustCompile(`^arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):([0-9]{12}):(listener|listener-rule)/(app|net)/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}/[0-9a-f]{16}(/[0-9a-f]{16})?$`)
	targetGroupARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):([0-9]{12}):targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$`)
	secretARNPattern      = regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):([0-9]{12}):secret:[\w/+=.@-]+$`)
	kmsARNPattern         = regexp.MustCompile(`^arn:aws[a-z-]*:kms:([a-z0-9-]+):([0-9]{12}):key/[0-9a-f-]{36}$`)
	roleNamePattern       = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	emailPattern          = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

var engines = []string{"postgres", "mysql", "mariadb", "aurora-postgresql", "aurora-mysql"}

func (c *Config) validate() []string {
	var p []string
	add := func(key, format string, args ...any) {
		p = append(p, key+": "+fmt.Sprintf(format, args...))
	}
	switch {
	case c.App == "":
		add("app", "required: the application's name, e.g. \"demo\"")
	case !appPattern.MatchString(c.App) || len(c.App) > 24:
		add("app", "%q must be lowercase letters, digits and dashes, starting with a letter, at most 24 characters (it prefixes resource names)", c.App)
	}
	switch {
	case c.Account == "":
		add("account", "required: the 12-digit AWS account id to deploy to")
	case !accountPattern.MatchString(c.Account):
		add("account", "%q is not a 12-digit AWS account id", c.Account)
	}
	switch {
	case c.Region == "":
		add("region", "required: the AWS region to deploy to, e.g. \"eu-west-1\"")
	case !regionPattern.MatchString(c.Region):
		add("region", "%q is not an AWS region name", c.Region)
	}

	switch {
	case c.VPC.ID == "":
		add("vpc.id", "required: the id of the VPC the app's instances and database are in (vpc-...)")
	case !vpcPattern.MatchString(c.VPC.ID):
		add("vpc.id", "%q is not a VPC id (vpc-...)", c.VPC.ID)
	}
	if len(c.VPC.SubnetIDs) == 0 {
		add("vpc.subnet_ids", "required: the private subnets the preflight, migrate and health functions run in (subnet-...), two or more for availability")
	}
	for i, s := range c.VPC.SubnetIDs {
		if !subnetPattern.MatchString(s) {
			add(fmt.Sprintf("vpc.subnet_ids[%d]", i), "%q is not a subnet id (subnet-...)", s)
		}
	}
	switch {
	case c.VPC.SecurityGroupID == "":
		add("vpc.security_group_id", "required: the security group of those functions; the database's and the instances' security groups must admit it (sg-...)")
	case !sgPattern.MatchString(c.VPC.SecurityGroupID):
		add("vpc.security_group_id", "%q is not a security group id (sg-...)", c.VPC.SecurityGroupID)
	}

	switch {
	case c.Git.Repository == "":
		add("git.repository", "required: the repository whose pushes deploy (the CodeCommit repository name, and detail.repository of slipway.git events)")
	case !repoPattern.MatchString(c.Git.Repository):
		add("git.repository", "%q is not a repository name", c.Git.Repository)
	}
	switch {
	case c.Git.Branch == "":
		add("git.branch", "required: the branch whose pushes deploy, e.g. \"main\"")
	case !branchPattern.MatchString(c.Git.Branch):
		add("git.branch", "%q is not a branch name", c.Git.Branch)
	}

	if gh := c.GitHubActions; gh != nil {
		if !githubRepoPattern.MatchString(gh.Repository) {
			add("github_actions.repository", "%q is not a GitHub repository: want owner/name", gh.Repository)
		}
		if !branchPattern.MatchString(gh.Branch) || strings.ContainsAny(gh.Branch, "*") {
			add("github_actions.branch", "%q is not a branch name", gh.Branch)
		}
	}

	if len(c.Environments) == 0 {
		add("environments", "required: at least one environment, e.g. \"staging\"")
	} else if _, ok := c.Environments[c.Git.Environment]; !ok {
		add("git.environment", "%q is not one of the configured environments (%s)", c.Git.Environment, strings.Join(c.EnvironmentNames(), ", "))
	}
	groupOf := map[string]string{}
	for _, name := range c.EnvironmentNames() {
		p = append(p, c.Environments[name].validate("environments."+name, name, c)...)
		e := c.Environments[name]
		for i, g := range e.AutoScalingGroups {
			if other, ok := groupOf[g]; ok && other != name {
				add(fmt.Sprintf("environments.%s.auto_scaling_groups[%d]", name, i), "%q is in environment %s too: a group's instances belong to one environment", g, other)
			}
			groupOf[g] = name
		}
		for _, g := range e.LaunchGroups()[len(e.AutoScalingGroups):] {
			if other, ok := groupOf[g]; ok && other != name {
				add(fmt.Sprintf("environments.%s.blue_green", name), "Auto Scaling group %q is in environment %s too: a group's instances belong to one environment", g, other)
			}
			groupOf[g] = name
		}
	}

	if _, ok := retentionDays[c.LogRetentionDays]; !ok {
		add("log_retention_days", "%d is not a retention CloudWatch Logs accepts (%s)", c.LogRetentionDays, joinInts(sortedInts(retentionDays)))
	}
	if c.HealthPort < 1 || c.HealthPort > 65535 {
		add("health_port", "%d is not a TCP port", c.HealthPort)
	}
	if c.CommandTimeoutSeconds < 30 || c.CommandTimeoutSeconds > 172800 {
		add("command_timeout_seconds", "%d is out of range: 30 to 172800 seconds", c.CommandTimeoutSeconds)
	}
	if d := *c.ArtifactRetentionDays; d < 0 || (d > 0 && d < 30) {
		add("artifact_retention_days", "%d is out of range: 0 (keep forever) or at least 30 days", d)
	}
	for i, e := range c.NotificationEmails {
		if !emailPattern.MatchString(e) {
			add(fmt.Sprintf("notification_emails[%d]", i), "%q is not an email address", e)
		}
	}
	if c.InstanceRoleName != "" && !roleNamePattern.MatchString(c.InstanceRoleName) {
		add("instance_role_name", "%q is not an IAM role name (give the name, not the ARN)", c.InstanceRoleName)
	}
	return p
}

func (e EnvironmentConfig) validate(key, name string, c *Config) []string {
	var p []string
	add := func(k, format string, args ...any) {
		p = append(p, key+k+": "+fmt.Sprintf(format, args...))
	}
	if !envPattern.MatchString(name) || len(name) > 24 {
		add("", "the environment name %q must be lowercase letters, digits and dashes, starting with a letter, at most 24 characters", name)
	}
	if e.Endpoint != "" {
		if u, err := url.Parse(e.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			add(".endpoint", "%q is not a URL the smoke checks can call: want https://HOST (the load balancer's DNS name or your domain), without credentials", e.Endpoint)
		}
	}
	if len(e.Tags) == 0 {
		add(".tags", "required: the tags that select this environment's instances, e.g. {\"app\": %q, \"env\": %q}; SSM commands may only reach instances that carry them", c.App, name)
	}
	for _, k := range sortedKeys(e.Tags) {
		if !tagKeyPattern.MatchString(k) || strings.HasPrefix(strings.ToLower(k), "aws:") {
			add(".tags", "%q is not a tag key an instance can carry", k)
		}
		if !tagValuePattern.MatchString(e.Tags[k]) {
			add(".tags."+k, "%q is not a tag value", e.Tags[k])
		}
	}
	d := e.Database
	switch {
	case d.Identifier == "":
		add(".database.identifier", "required: the RDS DB instance identifier (or the Aurora DB cluster identifier) that Slipway snapshots before migrations")
	case !dbIDPattern.MatchString(d.Identifier):
		add(".database.identifier", "%q is not an RDS identifier", d.Identifier)
	}
	switch {
	case d.Engine == "":
		add(".database.engine", "required: one of %s", strings.Join(engines, ", "))
	case !contains(engines, d.Engine):
		add(".database.engine", "%q is not one of %s", d.Engine, strings.Join(engines, ", "))
	}
	switch m := secretARNPattern.FindStringSubmatch(d.SecretARN); {
	case d.SecretARN == "":
		add(".database.secret_arn", "required: the ARN of the Secrets Manager secret holding the database connection")
	case m == nil:
		add(".database.secret_arn", "%q is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-abcdef)", d.SecretARN)
	case m[1] != c.Region || m[2] != c.Account:
		add(".database.secret_arn", "%q is not in the configured account and region (%s, %s)", d.SecretARN, c.Account, c.Region)
	}
	if d.SecretKMSKeyARN != "" && !kmsARNPattern.MatchString(d.SecretKMSKeyARN) {
		add(".database.secret_kms_key_arn", "%q is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/UUID)", d.SecretKMSKeyARN)
	}
	for i, a := range e.Alarms {
		if !alarmPattern.MatchString(a) {
			add(fmt.Sprintf(".alarms[%d]", i), "%q is not a CloudWatch alarm name", a)
		}
	}
	for i, g := range e.TargetGroups {
		switch m := targetGroupARNPattern.FindStringSubmatch(g); {
		case m == nil:
			add(fmt.Sprintf(".target_groups[%d]", i), "%q is not an ELBv2 target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID, from the console or aws elbv2 describe-target-groups)", g)
		case m[1] != c.Region || m[2] != c.Account:
			add(fmt.Sprintf(".target_groups[%d]", i), "%q is not in the configured account and region (%s, %s)", g, c.Account, c.Region)
		}
	}
	if bg := e.BlueGreen; bg != nil {
		c.checkBlueGreen(bg, func(key, format string, args ...any) { add(".blue_green"+key, format, args...) })
	}
	for i, g := range e.AutoScalingGroups {
		if !asgNamePattern.MatchString(g) {
			add(fmt.Sprintf(".auto_scaling_groups[%d]", i), "%q is not an Auto Scaling group name this stack takes (letters, digits, '.', '_' and '-', at most 255; the name, not the ARN, as aws autoscaling describe-auto-scaling-groups shows it)", g)
		}
		if contains(e.AutoScalingGroups[:i], g) {
			add(fmt.Sprintf(".auto_scaling_groups[%d]", i), "%q is listed twice", g)
		}
	}
	return p
}

// checkBlueGreen validates an environment's blue_green as internal/config
// does, and its ARNs against the configured account and region.
func (c *Config) checkBlueGreen(bg *BlueGreenConfig, add func(key, format string, args ...any)) {
	switch m := listenerARNPattern.FindStringSubmatch(bg.Listener); {
	case bg.Listener == "":
		add(".listener", "required: the listener (or listener rule) ARN whose weighted forward action sends traffic to both sides (aws elbv2 describe-listeners)")
	case m == nil || (m[3] == "listener") != (m[5] == ""):
		add(".listener", "%q is not an ELBv2 listener ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID) nor a listener rule ARN (listener-rule/app/NAME/ID/ID/ID)", bg.Listener)
	case m[1] != c.Region || m[2] != c.Account:
		add(".listener", "%q is not in the configured account and region (%s, %s)", bg.Listener, c.Account, c.Region)
	}
	for _, side := range []struct {
		name string
		s    SideConfig
	}{{"blue", bg.Blue}, {"green", bg.Green}} {
		key := "." + side.name
		switch m := targetGroupARNPattern.FindStringSubmatch(side.s.TargetGroup); {
		case side.s.TargetGroup == "":
			add(key+".target_group", "required: the ARN of the %s side's own target group", side.name)
		case m == nil:
			add(key+".target_group", "%q is not an ELBv2 target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID, from the console or aws elbv2 describe-target-groups)", side.s.TargetGroup)
		case m[1] != c.Region || m[2] != c.Account:
			add(key+".target_group", "%q is not in the configured account and region (%s, %s)", side.s.TargetGroup, c.Account, c.Region)
		}
		if len(side.s.Tags) == 0 && len(side.s.AutoScalingGroups) == 0 {
			add(key, "names no instances: set tags (the side's instance tags, e.g. {\"slipway:side\": %q}) or auto_scaling_groups", side.name)
		}
		for _, k := range sortedKeys(side.s.Tags) {
			if !tagKeyPattern.MatchString(k) || strings.HasPrefix(strings.ToLower(k), "aws:") {
				add(key+".tags", "%q is not a tag key an instance can carry", k)
			}
			if !tagValuePattern.MatchString(side.s.Tags[k]) {
				add(key+".tags."+k, "%q is not a tag value", side.s.Tags[k])
			}
		}
		for i, g := range side.s.AutoScalingGroups {
			if !asgNamePattern.MatchString(g) {
				add(fmt.Sprintf("%s.auto_scaling_groups[%d]", key, i), "%q is not an Auto Scaling group name (the name, not the ARN)", g)
			}
		}
	}
	if bg.Blue.TargetGroup != "" && bg.Blue.TargetGroup == bg.Green.TargetGroup {
		add(".green.target_group", "blue and green share target group %q; each side needs its own", bg.Blue.TargetGroup)
	}
	if len(bg.Blue.Tags) > 0 && maps.Equal(bg.Blue.Tags, bg.Green.Tags) {
		add(".green.tags", "blue and green select the same instance tags; give each side a tag of its own (for example slipway:side=blue)")
	}
	for _, g := range bg.Blue.AutoScalingGroups {
		if contains(bg.Green.AutoScalingGroups, g) {
			add(".green.auto_scaling_groups", "Auto Scaling group %q is on both sides; each side needs its own groups", g)
		}
	}
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}

func sortedInts[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// SlipwayConfig is the JSON the functions read from SLIPWAY_CONFIG
// (internal/config in the root module).
func (c *Config) SlipwayConfig() ([]byte, error) {
	type env struct {
		Production     bool              `json:"production,omitempty"`
		DatabaseSecret string            `json:"database_secret,omitempty"`
		DBInstance     string            `json:"db_instance,omitempty"`
		DBCluster      string            `json:"db_cluster,omitempty"`
		Alarms         []string          `json:"alarms,omitempty"`
		TargetGroups   []string          `json:"target_groups,omitempty"`
		ASGs           []string          `json:"auto_scaling_groups,omitempty"`
		BlueGreen      *BlueGreenConfig  `json:"blue_green,omitempty"`
		Tags           map[string]string `json:"tags,omitempty"`
		Endpoint       string            `json:"endpoint,omitempty"`
	}
	type triggers struct {
		Repositories []string          `json:"repositories,omitempty"`
		Branches     map[string]string `json:"branches,omitempty"`
	}
	out := struct {
		App          string         `json:"app"`
		Environments map[string]env `json:"environments"`
		Triggers     triggers       `json:"triggers"`
	}{App: c.App, Environments: map[string]env{},
		Triggers: triggers{Repositories: []string{c.Git.Repository}, Branches: map[string]string{c.Git.Branch: c.Git.Environment}}}
	for name, e := range c.Environments {
		v := env{Production: e.Production, DatabaseSecret: e.Database.SecretARN, Alarms: e.Alarms, TargetGroups: e.TargetGroups, ASGs: e.AutoScalingGroups, BlueGreen: e.BlueGreen, Tags: e.Tags, Endpoint: e.Endpoint}
		if e.Database.Cluster() {
			v.DBCluster = e.Database.Identifier
		} else {
			v.DBInstance = e.Database.Identifier
		}
		out.Environments[name] = v
	}
	return json.Marshal(out)
}
