//! Issues a secure-channel certificate: the step a root authority takes, offline, for each
//! application, device manager or provider it vouches for. The root's private key stays with
//! whoever runs this; the holder receives only the certificate (and never sends its private
//! key: its public key, or a key file it keeps, is all this needs).
//!
//! ```text
//! # the root publishes its public key, which verifiers compile in or configure
//! cargo run --example issue_cert -- --root-key root.pem --public-out root.pub.pem
//! # a provider author sends their public key; the root signs it
//! cargo run --example issue_cert -- --root-key root.pem --root-name "My root" \
//!     --holder-key provider.pub.pem --role provider --subject "My provider" \
//!     --serial 7 --days 730 --out provider.cert
//! ```
//!
//! `docs/security.md` ("Certificates for a provider author") describes the whole exchange.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use rsa::RsaPublicKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use wmdm::sac::{Certificate, CertificateRequest, Role, private_key_from_pem, public_key_from_pem};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Holder {
    Application,
    Manager,
    Provider,
}

/// Issue a SAC certificate with a root's private key.
#[derive(Debug, Parser)]
#[command(name = "issue_cert")]
struct Cli {
    /// The root's private key (PEM). It never leaves this command.
    #[arg(long, value_name = "PEM")]
    root_key: PathBuf,
    /// The root's name, as verifiers configure it in their trust store.
    #[arg(long, value_name = "NAME", default_value = "test root")]
    root_name: String,
    /// Write the root's public key here (PEM), for the verifiers' trust stores, and exit.
    #[arg(long, value_name = "PEM")]
    public_out: Option<PathBuf>,
    /// The holder's key: a public key (PEM), or a private key whose public half is used.
    #[arg(long, value_name = "PEM", required_unless_present = "public_out")]
    holder_key: Option<PathBuf>,
    /// The holder's role.
    #[arg(long, value_enum, default_value = "provider")]
    role: Holder,
    /// The holder's name in the certificate.
    #[arg(long, default_value = "wmdm provider")]
    subject: String,
    /// The serial number (unique per root; revocation goes by serial).
    #[arg(long, default_value_t = 1)]
    serial: u64,
    /// The application security level.
    #[arg(long, default_value_t = 1000)]
    app_sec: u32,
    /// Days of validity from now.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// Valid from this time (seconds since the Unix epoch); default a minute ago, for clocks
    /// slightly behind.
    #[arg(long, value_name = "UNIX")]
    not_before: Option<i64>,
    /// Where to write the certificate (its binary form, `Certificate::to_bytes`).
    #[arg(long, value_name = "FILE", required_unless_present = "public_out")]
    out: Option<PathBuf>,
}

fn holder_key(text: &str) -> wmdm::Result<RsaPublicKey> {
    public_key_from_pem(text).or_else(|_| Ok(private_key_from_pem(text)?.to_public_key()))
}

fn run(cli: &Cli) -> Result<String, String> {
    let read =
        |p: &PathBuf| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let root = private_key_from_pem(&read(&cli.root_key)?)
        .map_err(|e| format!("{}: not an RSA private key ({e})", cli.root_key.display()))?;
    if let Some(out) = &cli.public_out {
        let pem = root
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| e.to_string())?;
        std::fs::write(out, pem).map_err(|e| format!("{}: {e}", out.display()))?;
        return Ok(format!("wrote the root's public key to {}", out.display()));
    }
    let (Some(key_file), Some(out)) = (&cli.holder_key, &cli.out) else {
        return Err("--holder-key and --out are needed to issue".into());
    };
    let public_key = holder_key(&read(key_file)?)
        .map_err(|e| format!("{}: not an RSA key ({e})", key_file.display()))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let now = i64::try_from(now).map_err(|e| e.to_string())?;
    let request = CertificateRequest {
        subject: cli.subject.clone(),
        role: match cli.role {
            Holder::Application => Role::Application,
            Holder::Manager => Role::Manager,
            Holder::Provider => Role::Provider,
        },
        app_sec: cli.app_sec,
        serial: cli.serial,
        not_before: cli.not_before.unwrap_or(now - 60),
        not_after: now.saturating_add(cli.days.saturating_mul(86_400)),
        public_key,
    };
    let cert =
        Certificate::issue(&request, &cli.root_name, &root).map_err(|e| format!("issuing: {e}"))?;
    std::fs::write(out, cert.to_bytes()).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(format!(
        "issued {:?} certificate #{} for {:?} by {:?}, valid {} days: {}",
        request.role,
        request.serial,
        request.subject,
        cli.root_name,
        cli.days,
        out.display()
    ))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("issue_cert: {e}");
            ExitCode::FAILURE
        }
    }
}
