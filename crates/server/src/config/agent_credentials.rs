//! The registrar's view of `[[agents]]`: each agent's SIP password (from `password` or the
//! environment variable named by `password_env`) and its allowed contact hosts, checked
//! when the file is read so that a missing or empty password stops `serve` with an error
//! naming the agent, instead of an agent nobody can log in as (or anyone can).

use anyhow::{anyhow, Result};
use ringdesk_acd::AgentConfig;
use ringdesk_sip::{AgentCredential, ContactHosts};

/// The credentials of every agent, reading environment variables through `env`.
pub fn agent_credentials(
    agents: &[AgentConfig],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<AgentCredential>> {
    agents
        .iter()
        .map(|agent| {
            let password = agent
                .sip_password(env)
                .map_err(|e| anyhow!("[[agents]] {e}"))?;
            let hosts = ContactHosts::parse(&agent.contact_hosts)
                .map_err(|e| anyhow!("[[agents]] agent {:?}: contact_hosts: {e}", agent.id))?;
            Ok(AgentCredential::new(agent.id.clone(), password).with_contact_hosts(hosts))
        })
        .collect()
}

pub use ringdesk_secret::process_env;

#[cfg(test)]
mod tests {
    //! Start-up refuses agents without a usable password, naming the file and the agent.
    use crate::config::Config;

    fn agent(extra: &str) -> String {
        format!("[[agents]]\nid = \"ana\"\nname = \"Ana\"\nqueues = [\"support\"]\n{extra}")
    }

    #[test]
    fn a_missing_or_empty_password_is_an_error_naming_file_and_agent() {
        for extra in [
            "",
            "password = \"\"\n",
            "password_env = \"RINGDESK_TEST_SURELY_UNSET_VAR\"\n",
            "password = \"p\"\npassword_env = \"X\"\n",
        ] {
            let e = Config::parse(&agent(extra), "agents.toml")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("agents.toml: "), "{extra:?}: {e}");
            assert!(e.contains("\"ana\""), "{extra:?}: {e}");
        }
        assert!(Config::parse(&agent("password = \"p\"\n"), "a.toml").is_ok());
    }

    #[test]
    fn the_password_comes_from_the_environment_and_hosts_are_checked() {
        let c = Config::parse(
            &agent("password_env = \"ANA_PW\"\ncontact_hosts = [\"10.1.0.0/16\", \"192.0.2.7\"]\n"),
            "a.toml",
        );
        // The variable is not set in this process: refused at load.
        assert!(c.unwrap_err().to_string().contains("ANA_PW"));
        let config: Config = toml::from_str(&agent(
            "password_env = \"ANA_PW\"\ncontact_hosts = [\"10.1.0.0/16\"]\n",
        ))
        .unwrap();
        let env = |v: &str| (v == "ANA_PW").then(|| "from-env".to_owned());
        let creds = super::agent_credentials(&config.agents, &env).unwrap();
        assert_eq!(creds[0].password.expose(), "from-env");
        assert!(creds[0]
            .contact_hosts
            .allows("sip:ana@10.1.2.3", "192.0.2.1".parse().unwrap()));
        let e = Config::parse(
            &agent("password = \"p\"\ncontact_hosts = [\"pbx.local\"]\n"),
            "a.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("contact_hosts") && e.contains("ana"), "{e}");
    }
}
