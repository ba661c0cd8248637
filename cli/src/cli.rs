//! Command-line definitions (clap derive). One subcommand enum per noun, mirroring the SDK
//! handlers; the code that runs them lives in [`crate::cmd`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::Format;

/// Command-line client for OpenPartner-style partner-program APIs.
#[derive(Debug, Parser)]
#[command(
    name = "openpartner",
    version,
    about = "Command-line client for OpenPartner-style partner-program APIs",
    long_about = None,
    disable_help_subcommand = true,
    after_help = "Credentials: OPENPARTNER_API_KEY (with OPENPARTNER_BASE_URL and OPENPARTNER_TENANT) \
                  overrides the profile; otherwise the profile's credential comes from the OS keyring or \
                  the 0600 credentials.toml fallback.\n\
                  Run `openpartner help exit-codes` for the exit codes."
)]
pub struct Cli {
    /// Flags accepted by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Global flags.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration profile to use.
    #[arg(
        long,
        global = true,
        env = "OPENPARTNER_PROFILE",
        default_value = "default",
        value_name = "NAME"
    )]
    pub profile: String,

    /// Base URL of the API (e.g. http://127.0.0.1:4100 or https://host/api).
    #[arg(long, global = true, env = "OPENPARTNER_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,

    /// Tenant slug on a multi-tenant server.
    #[arg(long, global = true, env = "OPENPARTNER_TENANT", value_name = "SLUG")]
    pub tenant: Option<String>,

    /// Output format (default: table on a terminal, json otherwise).
    #[arg(short = 'o', long, global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,

    /// Log HTTP requests to stderr (-vv adds bodies; secrets are masked).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Disable colours (also honoured: the NO_COLOR environment variable).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Per-request timeout in seconds.
    #[arg(long, global = true, default_value_t = 30, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in, show the current credential, log out.
    #[command(subcommand)]
    Auth(AuthCmd),
    /// Create, list, inspect, invite, revoke and import partners; their program grants,
    /// commission snapshots, analytics, postbacks and login links.
    #[command(subcommand)]
    Partners(PartnersCmd),
    /// Create, list, revoke and rotate API keys.
    #[command(subcommand, name = "api-keys")]
    ApiKeys(ApiKeysCmd),
    /// Manage admins.
    #[command(subcommand)]
    Admins(AdminsCmd),
    /// Make an authenticated API request (like `gh api`).
    Api(ApiArgs),
    /// List, create and update programs (commission rules).
    #[command(subcommand)]
    Programs(crate::cmd::programs::ProgramsCmd),
    /// List and create tracking links (partner mode: your own links).
    Links(crate::cmd::links::LinksArgs),
    /// Record clicks from your own redirector, flag and unflag them.
    #[command(subcommand)]
    Clicks(crate::cmd::clicks::ClicksCmd),
    /// Stitch a click to your user (one pair, or an NDJSON file).
    #[command(after_long_help = crate::bulk::OUTCOMES_HELP)]
    Identify(crate::cmd::clicks::IdentifyArgs),
    /// Track conversion events, one at a time or from an NDJSON file.
    #[command(subcommand)]
    Events(crate::cmd::events::EventsCmd),
    /// List, approve, reverse and report commissions (partner mode: your own).
    Commissions(crate::cmd::commissions::CommissionsArgs),
    /// Run, confirm and list payouts (partner mode: your own).
    Payouts(crate::cmd::payouts::PayoutsArgs),
    /// Export a table as CSV or JSON (streamed).
    Export(crate::cmd::export::ExportArgs),
    /// Partner mode: your own partner row and role.
    ///
    /// With a partner API key (or partner session) the CLI works in partner mode: it asks
    /// /auth/introspect who the credential is, and `me`, `stats`, `links`, `commissions`
    /// (list and report), `payouts` and `programs list` act on your own partner id through
    /// the routes a partner may call; admin-only verbs are refused locally (exit 4) without
    /// calling the server. With an admin credential `me` just prints the role.
    Me,
    /// A partner's dashboard (clicks, attributed events and revenue, commissions), or with
    /// --timeseries its buckets over time (partner mode: your own).
    Stats(crate::cmd::me::StatsArgs),
    /// Manage webhook endpoints and their deliveries.
    #[command(subcommand)]
    Webhooks(crate::cmd::webhooks::WebhooksCmd),
    /// Tenant provisioning with a platform key (multi-tenant servers with `platform`).
    ///
    /// The platform key is never a flag (argv leaks into `ps` and shell history): it is read
    /// from stdin with `--platform-key-stdin`, else from OPENPARTNER_PLATFORM_KEY (with
    /// OPENPARTNER_BASE_URL or --base-url), else from the profile's platform key stored by
    /// `openpartner auth login --platform`. The admin credential is never used here, and
    /// --tenant is refused: /platform/* lives outside every tenant.
    Platform(crate::cmd::platform::PlatformArgs),
    /// The reference server's development helpers (sandbox only).
    #[command(subcommand)]
    Dev(crate::cmd::dev::DevCmd),
    /// Print a shell completion script.
    Completion {
        /// Target shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    #[command(hide = true)]
    Man,
    /// Help on a command, or a topic: `openpartner help exit-codes`.
    Help {
        /// Command path or topic (`exit-codes`).
        topic: Vec<String>,
    },
}

impl Command {
    /// Commands that handle Ctrl-C themselves (the bulk commands: they stop sending, let
    /// in-flight requests finish and report what was not sent).
    pub fn handles_interrupt(&self) -> bool {
        match self {
            Command::Partners(PartnersCmd::Import(_))
            | Command::Events(crate::cmd::events::EventsCmd::Import(_))
            | Command::Clicks(crate::cmd::clicks::ClicksCmd::Import { .. })
            | Command::Webhooks(crate::cmd::webhooks::WebhooksCmd::Listen(_)) => true,
            Command::Identify(a) => a.file.is_some(),
            _ => false,
        }
    }
}

/// `auth …`
#[derive(Debug, Subcommand)]
pub enum AuthCmd {
    /// Store a credential for the profile, after checking it with the server.
    ///
    /// With an API key: the key is read from stdin when stdin is not a terminal
    /// (`echo "$KEY" | openpartner auth login --with-token`), else from a hidden prompt;
    /// never from the command line. With `--magic-link EMAIL`: a sign-in link is mailed,
    /// then its URL or token is read the same way (or, on the reference server with
    /// `--from-dev-mailbox`, taken from its dev mailbox) and exchanged for a session.
    /// With `--platform`: a reseller's platform key, read the same way and stored beside
    /// the profile's credential for `openpartner platform …`.
    Login(LoginArgs),
    /// Show the profile, server, tenant, role and scopes, and where the credential came from.
    Status,
    /// Sign out (for sessions) and delete the profile's stored credential.
    Logout,
}

/// `auth login` flags.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Read the API key from standard input.
    #[arg(long)]
    pub with_token: bool,
    /// Sign in with a magic link mailed to this address (creates a session).
    #[arg(long, value_name = "EMAIL", conflicts_with = "with_token")]
    pub magic_link: Option<String>,
    /// With --magic-link on the reference server: take the link from its dev mailbox
    /// instead of reading it from stdin. The mailbox is read with an admin credential:
    /// the profile of --mailbox-profile, else OPENPARTNER_API_KEY.
    #[arg(long, requires = "magic_link")]
    pub from_dev_mailbox: bool,
    /// Profile whose (admin) credential reads the dev mailbox for --from-dev-mailbox.
    #[arg(long, value_name = "NAME", requires = "from_dev_mailbox")]
    pub mailbox_profile: Option<String>,
    /// Store a platform key (extension `platform`; read from stdin or a hidden prompt,
    /// checked with the server) as the profile's platform secret, used by
    /// `openpartner platform …`; the profile's own credential is left as it is.
    #[arg(long, conflicts_with = "magic_link")]
    pub platform: bool,
}

/// `partners …`
#[derive(Debug, Subcommand)]
pub enum PartnersCmd {
    /// Create a partner.
    Create(PartnerCreateArgs),
    /// List partners (newest first), streaming every page.
    List(PartnerListArgs),
    /// Show one partner, by id or (with --external-id) by your own id for it.
    Get(PartnerGetArgs),
    /// Send a new invite mail to a pending partner.
    Invite {
        /// Partner id.
        id: String,
    },
    /// Revoke a partner (sessions and API keys stop working).
    Revoke {
        /// Partner id.
        id: String,
        /// Reason (up to 500 characters).
        #[arg(long)]
        reason: Option<String>,
        /// Do not notify the partner by mail.
        #[arg(long)]
        no_notify: bool,
    },
    /// Reinstate a revoked partner.
    Reinstate {
        /// Partner id.
        id: String,
    },
    /// Import partners from a CSV file (email,name[,external_id][,program_ids][,metadata.*]).
    ///
    /// Header names are matched ignoring case and surrounding spaces; unknown columns are
    /// ignored with one warning (--strict refuses them), --metadata-column NAME keeps a
    /// column in each partner's metadata. Rows are validated first (invalid rows are never
    /// sent), then one POST /partners per row; a partner whose email or external id is
    /// already taken `existed`, so re-running the same file creates nothing twice.
    #[command(after_long_help = crate::bulk::OUTCOMES_HELP)]
    Import(ImportArgs),
    /// Create a 15-minute single-use sign-in link for a partner (needs `login-links`).
    ///
    /// The URL contains a sign-in token: it is printed on stdout only, never logged.
    LoginLink {
        /// Partner id.
        id: String,
    },
    /// List, grant and revoke a partner's programs (program grants).
    #[command(subcommand)]
    Programs(crate::cmd::programs::GrantsCmd),
    /// Show, set or delete a partner's commission snapshot (its override of the programs'
    /// commission rules).
    #[command(subcommand)]
    Snapshot(crate::cmd::programs::SnapshotCmd),
    /// List a partner's attributed events (streams every page; partner mode: your own).
    Events(crate::cmd::analytics::PartnerEventsArgs),
    /// List a partner's customers (streams every page; partner mode: your own).
    Customers(crate::cmd::analytics::CustomersArgs),
    /// List, create, update and delete a partner's postbacks and show their sends (partner
    /// mode: your own).
    #[command(subcommand)]
    Postbacks(crate::cmd::webhooks::PostbacksCmd),
}

/// `partners get` flags.
#[derive(Debug, Args)]
pub struct PartnerGetArgs {
    /// Partner id.
    #[arg(
        required_unless_present = "external_id",
        conflicts_with = "external_id"
    )]
    pub id: Option<String>,
    /// Look the partner up by its external id instead (needs `external-id`).
    #[arg(long, value_name = "EXTERNAL_ID")]
    pub external_id: Option<String>,
}

/// `partners create` flags.
#[derive(Debug, Args)]
pub struct PartnerCreateArgs {
    /// Email address.
    #[arg(long)]
    pub email: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Your own id for this partner (needs the server's `external-id` extension).
    #[arg(long)]
    pub external_id: Option<String>,
    /// Metadata as a JSON object, e.g. '{"tier":"gold"}'.
    #[arg(long, value_name = "JSON")]
    pub metadata: Option<String>,
    /// Program to grant (repeatable); without it the server grants all programs.
    #[arg(long = "program-id", value_name = "ID")]
    pub program_ids: Vec<String>,
    /// Grant no program at all (sends `programIds: []`).
    #[arg(long, conflicts_with = "program_ids")]
    pub no_programs: bool,
    /// Do not send an invite mail (the partner is activated at once).
    #[arg(long)]
    pub no_invite: bool,
    /// Idempotency key (safe retries on servers with the `idempotency` extension).
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

/// `partners list` flags.
#[derive(Debug, Args)]
pub struct PartnerListArgs {
    /// Only the partner with this email (exact, case-insensitive).
    #[arg(long)]
    pub email: Option<String>,
    /// Stop after this many partners.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Partners fetched per request (1-200).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=200))]
    pub page_size: Option<u32>,
}

/// `partners import` flags.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// CSV file to import (`-` for stdin).
    pub file: PathBuf,
    /// Validate the file and report bad rows; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
    /// Send invite mails (the server's default).
    #[arg(long, overrides_with = "no_invite")]
    pub send_invite: bool,
    /// Do not send invite mails (partners are activated at once).
    #[arg(long, overrides_with = "send_invite")]
    pub no_invite: bool,
    /// Write a per-line CSV report (line,outcome,id,reason).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Put this column's cells into each partner's metadata under NAME (repeatable).
    #[arg(long = "metadata-column", value_name = "NAME")]
    pub metadata_columns: Vec<String>,
    /// Refuse the file when it has columns that are not known (instead of ignoring them).
    #[arg(long)]
    pub strict: bool,
}

/// Options shared by the key-creating commands.
#[derive(Debug, Args)]
pub struct KeyCreateArgs {
    /// Label shown in listings.
    #[arg(long)]
    pub label: Option<String>,
    /// Restrict the key to an IP or CIDR (repeatable; needs the `ip-allowlist` extension).
    #[arg(long = "allowed-ip", value_name = "IP/CIDR")]
    pub allowed_ips: Vec<String>,
}

/// `api-keys …`
#[derive(Debug, Subcommand)]
pub enum ApiKeysCmd {
    /// Create an admin API key (the plaintext is shown once).
    Create(KeyCreateArgs),
    /// Create a scoped API key, e.g. --scope partners:read --scope events:write.
    CreateScoped {
        /// Scope (repeatable, or comma-separated).
        #[arg(
            long = "scope",
            value_name = "SCOPE",
            required = true,
            value_delimiter = ','
        )]
        scopes: Vec<String>,
        #[command(flatten)]
        opts: KeyCreateArgs,
    },
    /// Create an API key bound to a partner.
    CreatePartner {
        /// Partner id.
        partner_id: String,
        #[command(flatten)]
        opts: KeyCreateArgs,
    },
    /// List scoped API keys, or a partner's keys with --partner.
    List {
        /// Only keys with this scope.
        #[arg(long, conflicts_with = "partner")]
        scope: Option<String>,
        /// List this partner's keys instead.
        #[arg(long, value_name = "PARTNER_ID")]
        partner: Option<String>,
    },
    /// Revoke (delete) an API key.
    Revoke {
        /// Key id.
        key_id: String,
    },
    /// Replace a key: create a new one of the same kind, then revoke the old one.
    ///
    /// Scoped keys are found in the scoped-key listing (scopes, label and IP allowlist are
    /// copied); a partner key needs --partner; an admin key needs --admin (admin keys are
    /// not listed by the API, so they cannot be looked up). The new plaintext is printed
    /// once, before the old key is revoked.
    Rotate {
        /// Id of the key to replace.
        key_id: String,
        /// The key belongs to this partner.
        #[arg(long, value_name = "PARTNER_ID", conflicts_with = "admin")]
        partner: Option<String>,
        /// The key is an admin key.
        #[arg(long)]
        admin: bool,
        /// Label of the new key (default: the old key's label).
        #[arg(long)]
        label: Option<String>,
    },
}

/// `admins …`
#[derive(Debug, Subcommand)]
pub enum AdminsCmd {
    /// List admins.
    List,
    /// Create an admin (and send an invite).
    Create {
        /// Email address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Send a new invite mail to an admin.
    Invite {
        /// Admin id.
        id: String,
    },
    /// Revoke an admin.
    Revoke {
        /// Admin id.
        id: String,
    },
    /// Reinstate a revoked admin.
    Reinstate {
        /// Admin id.
        id: String,
    },
}

/// `api METHOD PATH` flags (modelled on `gh api`).
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// HTTP method (GET, POST, PUT, PATCH, DELETE, …).
    pub method: String,
    /// Route path, e.g. /partners or /partners?email=a@b.co (the tenant prefix is added).
    pub path: String,
    /// String field KEY=VALUE (repeatable): query parameter for GET/HEAD, JSON body field
    /// otherwise. `key[sub]=v` nests objects, `key[]=v` appends to an array.
    #[arg(short = 'f', long = "raw-field", value_name = "KEY=VALUE")]
    pub raw_fields: Vec<String>,
    /// Typed field KEY=JSON (repeatable): the value is parsed as JSON (numbers, true,
    /// null, objects…); text that is not JSON is sent as a string.
    #[arg(short = 'F', long = "field", value_name = "KEY=JSON")]
    pub fields: Vec<String>,
    /// Request body from a JSON file (`-` for stdin); fields then go to the query string.
    #[arg(long, value_name = "FILE")]
    pub input: Option<String>,
    /// Follow `nextCursor` (or limit/offset) and emit the items of every page.
    #[arg(long, conflicts_with = "include")]
    pub paginate: bool,
    /// Print the status line and response headers before the body.
    #[arg(short = 'i', long)]
    pub include: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
