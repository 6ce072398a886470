//! Configuration from the binary's TOML: parsing, defaults, validation, secret hygiene.

use ringdesk_acd::{Acd, AcdConfig, AgentId, AvailabilityCheck, ConfigError, QueueConfig};
use std::time::Duration;

const SAMPLE: &str = r#"
[[agents]]
id = "ana"
name = "Ana Souza"
password = "s3cret-pw"
queues = ["support", "vip"]
skills = ["pt", "en"]

[[agents]]
id = "bob"
name = "Bob"
password = "other-pw"
queues = ["support"]

[queues.support]
ring_timeout = 20
wrap_up = "15s"
announce_every = "1m"
max_wait = "10m"
no_agent_check = "logged_in"

[queues.vip]
no_agent_check = "available"
max_wait = 0
"#;

#[test]
fn sample_parses_with_defaults() {
    let c: AcdConfig = toml::from_str(SAMPLE).unwrap();
    c.validate().unwrap();
    let s = &c.queues["support"];
    assert_eq!(s.ring_timeout, Duration::from_secs(20));
    assert_eq!(s.wrap_up, Duration::from_secs(15));
    assert_eq!(s.announce_every, Some(Duration::from_secs(60)));
    assert_eq!(s.max_wait, Some(Duration::from_secs(600)));
    assert_eq!(s.no_agent_check, AvailabilityCheck::LoggedIn);
    let v = &c.queues["vip"];
    assert_eq!(v.max_wait, None, "0 means no limit");
    assert_eq!(v.no_agent_check, AvailabilityCheck::Available);
    assert_eq!(v.ring_timeout, QueueConfig::default().ring_timeout);
    let no_env = |_: &str| None;
    assert_eq!(
        c.agents[0].sip_password(&no_env).unwrap().expose(),
        "s3cret-pw"
    );
    assert!(c.agents[1].skills.is_empty());
    let acd = Acd::new(&c).unwrap();
    assert_eq!(acd.agent_name(&AgentId::new("ana")), Some("Ana Souza"));
    assert_eq!(acd.queue_names().count(), 2);
}

#[test]
fn passwords_never_appear_in_debug_output() {
    let c: AcdConfig = toml::from_str(SAMPLE).unwrap();
    let text = format!("{c:?} {:#?}", c.agents);
    assert!(!text.contains("s3cret-pw") && !text.contains("other-pw"));
    let acd = Acd::new(&c).unwrap();
    assert!(!format!("{acd:?}").contains("s3cret-pw"));
}

#[test]
fn invalid_configs_are_refused() {
    let bad = |s: &str| toml::from_str::<AcdConfig>(s).map_err(|e| e.to_string());
    assert!(bad("[queues.q]\nno_agent_check = \"sometimes\"").is_err());
    assert!(bad("[queues.q]\nring_timeout = \"soon\"").is_err());
    assert!(bad("[queues.q]\nunknown = 1").is_err());

    let c: AcdConfig =
        toml::from_str("[[agents]]\nid = \"a\"\nname = \"A\"\nqueues = [\"nope\"]\n[queues.q]\n")
            .unwrap();
    assert!(matches!(
        Acd::new(&c),
        Err(ConfigError::UnknownQueue { .. })
    ));

    let c: AcdConfig = toml::from_str(
        "[[agents]]\nid = \"a\"\nname = \"A\"\nqueues = []\n[[agents]]\nid = \"a\"\nname = \"B\"\nqueues = []\n",
    )
    .unwrap();
    assert_eq!(
        Acd::new(&c).err(),
        Some(ConfigError::DuplicateAgent("a".into()))
    );

    let c: AcdConfig = toml::from_str("[queues.q]\nring_timeout = 0\n").unwrap();
    assert!(matches!(
        Acd::new(&c),
        Err(ConfigError::BadDuration {
            field: "ring_timeout",
            ..
        })
    ));
    let c: AcdConfig = toml::from_str("[queues.q]\nmax_wait = \"30days\"\n").unwrap();
    assert!(Acd::new(&c).is_err());
}

#[test]
fn the_sip_password_comes_from_the_file_or_the_environment_never_empty() {
    let agent = |extra: &str| -> ringdesk_acd::AgentConfig {
        let text = format!("[[agents]]\nid = \"ana\"\nname = \"Ana\"\nqueues = []\n{extra}");
        toml::from_str::<AcdConfig>(&text).unwrap().agents.remove(0)
    };
    let env = |var: &str| match var {
        "ANA_PW" => Some("from-env".to_owned()),
        "EMPTY" => Some(String::new()),
        _ => None,
    };
    let pw = |extra: &str| {
        agent(extra)
            .sip_password(&env)
            .map(|s| s.expose().to_owned())
    };
    assert_eq!(pw("password = \"p\"\n").unwrap(), "p");
    assert_eq!(pw("password_env = \"ANA_PW\"\n").unwrap(), "from-env");
    for bad in [
        "",
        "password = \"\"\n",
        "password_env = \"EMPTY\"\n",
        "password_env = \"UNSET_VAR\"\n",
        "password = \"p\"\npassword_env = \"ANA_PW\"\n",
    ] {
        let error = pw(bad).unwrap_err().to_string();
        assert!(error.contains("\"ana\""), "{bad:?}: {error}");
        assert!(!error.contains("from-env"), "{error}");
    }
    assert!(pw("password_env = \"UNSET_VAR\"\n")
        .unwrap_err()
        .to_string()
        .contains("UNSET_VAR"));
    assert_eq!(
        agent("contact_hosts = [\"10.0.0.0/8\"]\n").contact_hosts,
        ["10.0.0.0/8"]
    );
}
