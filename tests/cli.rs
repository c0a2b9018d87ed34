//! The `langevin` executable end to end: every example config runs, an OU config's summary
//! matches the exact Euler-Maruyama moments, backends agree, and bad input exits with status 2
//! and a message that names the problem.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn langevin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_langevin"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("the langevin executable runs")
}

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/configs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("langevin-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// A complete PNG file of the given size: signature, IHDR first, IEND last.
fn assert_png(path: &Path, width: usize, height: usize) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap()) as usize;
    assert_eq!((be(&bytes[16..20]), be(&bytes[20..24])), (width, height));
    assert_eq!(&bytes[bytes.len() - 8..bytes.len() - 4], b"IEND");
}

#[test]
fn plots_are_drawn_unless_turned_off() {
    let config = configs().join("double_well.toml");
    let out = scratch("plots");
    let args = |extra: &'static str| {
        let mut a = vec![
            "--backend".to_string(),
            "cpu".into(),
            "run".into(),
            config.to_str().unwrap().into(),
            "--trajectories".into(),
            "1024".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
            "--quiet".into(),
        ];
        if !extra.is_empty() {
            a.extend(["--set".into(), extra.into()]);
        }
        a
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = langevin(&a);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(args(""));
    for name in ["moments.png", "histogram.png", "first_passage.png"] {
        let h = if name == "moments.png" { 320 } else { 560 };
        assert_png(&out.join(name), 900, h);
    }
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    std::fs::remove_dir_all(&out).unwrap();
    run(args("output.plots=false"));
    assert!(out.join("summary.json").exists());
    assert!(!out.join("moments.png").exists());
}

#[test]
fn every_example_config_runs() {
    let mut seen = 0;
    for entry in std::fs::read_dir(configs()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let out = scratch(path.file_stem().unwrap().to_str().unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains("kind = \"field\"") {
            field_example_runs(&path, &out);
            seen += 1;
            continue;
        }
        if ["kuramoto", "chain", "cbo", "vicsek"]
            .iter()
            .any(|k| text.contains(&format!("kind = \"{k}\"")))
        {
            interacting_example_runs(&path, &out);
            seen += 1;
            continue;
        }
        let o = langevin(&[
            "--backend",
            "cpu",
            "run",
            path.to_str().unwrap(),
            // A multiple of 64 and of the 12 points of the grouped sweep example.
            "--trajectories",
            "3072",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(
            o.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        let s = summary(&out);
        assert_eq!(s["trajectories"], 3072);
        if let Some(sw) = s.get("sweep") {
            let grouped = sw["grouped"].as_bool().unwrap();
            assert_eq!(out.join("sweep_stats.csv").exists(), grouped);
            if grouped {
                let per = sw["per_point"].as_u64().unwrap();
                assert_eq!(sw["points"].as_array().unwrap().len() as u64 * per, 3072);
            }
        }
        if let Some(fp) = s.get("first_passage") {
            let hit = fp["hit"].as_u64().unwrap();
            assert!(hit > 0 && hit <= 3072, "{}: {fp}", path.display());
            let (mean, median) = (fp["mean"].as_f64().unwrap(), fp["median"].as_f64().unwrap());
            assert!(median > 0.0 && mean > 0.0, "{fp}");
        }
        if let Some(j) = s.get("jumps") {
            assert!(out.join("extinction.csv").exists(), "{}", path.display());
            let text = std::fs::read_to_string(&path).unwrap();
            let asked = text.contains("distributions =");
            assert_eq!(out.join("distributions.csv").exists(), asked);
            assert_eq!(out.join("distributions.png").exists(), asked);
            assert!(j["mean_events"].as_f64().unwrap() > 0.0, "{j}");
        }
        assert_eq!(s["diverged"], 0, "{}", path.display());
        assert!(out.join("stats.csv").exists());
        assert_png(
            &out.join("moments.png"),
            900,
            320 * s["stats"].as_object().unwrap().len(),
        );
        assert_eq!(
            out.join("histogram.png").exists(),
            s.get("histogram").is_some()
        );
        assert_eq!(
            out.join("first_passage.png").exists(),
            s.get("first_passage").is_some()
        );
        seen += 1;
    }
    assert!(seen >= 7, "{seen} example configs");
}

/// A summary of any kind records its resolved config (the `--set` of the short run
/// included), the engine version and the command line.
fn assert_records_what_ran(s: &serde_json::Value, path: &Path) {
    let name = path.display();
    assert_eq!(
        s["config"]["ensemble"]["trajectories"], s["trajectories"],
        "{name}"
    );
    assert_eq!(s["version"]["engine"], env!("CARGO_PKG_VERSION"), "{name}");
    let command = s["command"].as_array().unwrap();
    assert!(
        command.contains(&serde_json::json!(path.to_str().unwrap())),
        "{name}"
    );
    assert!(s["started"].as_str().unwrap().ends_with('Z'), "{name}");
}

/// A field example cut to a short run (2 fields, t = 1): its summary, energies and plot.
fn field_example_runs(path: &Path, out: &Path) {
    let o = langevin(&[
        "--backend",
        "cpu",
        "run",
        path.to_str().unwrap(),
        "--trajectories",
        "2",
        "--set",
        "solver.t_end=1.0",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(
        o.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let s = summary(out);
    assert_eq!(s["kind"], "field");
    assert_records_what_ran(&s, path);
    assert_eq!(s["trajectories"], 2);
    let energy = s["energy"].as_array().unwrap();
    assert!(
        energy.iter().all(|e| e.as_f64().unwrap().is_finite()),
        "{energy:?}"
    );
    assert!(out.join("energy.csv").exists() && out.join("snapshots.npy").exists());
    let two_d = s["points"][1].as_u64().unwrap() > 1;
    // numpy's shape: (saves, ny, nx) for a 2-D field, (saves, nx) for a 1-D one.
    let npy = std::fs::read(out.join("snapshots.npy")).unwrap();
    let header = String::from_utf8_lossy(&npy[10..128]).to_string();
    let shape = &header[header.find("'shape': (").unwrap() + 10..];
    let dims: Vec<u64> = shape[..shape.find(')').unwrap()]
        .split(',')
        .filter(|d| !d.trim().is_empty())
        .map(|d| d.trim().parse().unwrap())
        .collect();
    let points: Vec<u64> = s["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    if two_d {
        assert_eq!(dims[1..], [points[1], points[0]], "{header}");
    } else {
        assert_eq!(dims[1..], [points[0]], "{header}");
    }
    if two_d {
        // The square map and its colour bar.
        assert_png(&out.join("final.png"), 740, 640);
    } else {
        assert_png(&out.join("spacetime.png"), 900, 640);
    }
}

/// An interacting-ensemble example (Kuramoto, a chain, CBO or Vicsek), cut to a short run: 36
/// replicas (a multiple of every example's sweep points) to t = 0.5 (Vicsek: 512 particles,
/// 20 steps of its dt = 1).
fn interacting_example_runs(path: &Path, out: &Path) {
    let vicsek = std::fs::read_to_string(path)
        .unwrap()
        .contains("kind = \"vicsek\"");
    let (t_end, from) = if vicsek {
        ("solver.t_end=20", "output.time_average.from=10")
    } else {
        ("solver.t_end=0.5", "output.time_average.from=0.25")
    };
    let mut args = vec![
        "--backend",
        "cpu",
        "run",
        path.to_str().unwrap(),
        "--trajectories",
        "36",
        "--set",
        t_end,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    // Only the kinds that average over a window read it (chains and CBO refuse the key).
    let text = std::fs::read_to_string(path).unwrap();
    let averaged = langevin::kind::KINDS
        .iter()
        .filter(|k| k.output.contains(&"time_average"))
        .any(|k| text.contains(&format!("kind = \"{}\"", k.name)));
    if averaged {
        args.extend(["--set", from]);
    }
    if vicsek {
        args.extend([
            "--set",
            "model.particles=512",
            "--set",
            "output.save_times=5",
        ]);
    }
    let o = langevin(&args);
    assert!(
        o.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let s = summary(out);
    assert_eq!(s["trajectories"], 36);
    assert_records_what_ran(&s, path);
    if s["kind"] == "kuramoto" {
        for point in s["points"].as_array().unwrap() {
            let r = point["r"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&r), "{point}");
        }
        assert!(out.join("order.csv").exists());
        assert_png(&out.join("order.png"), 900, 640);
    } else if s["kind"] == "vicsek" {
        let points = s["points"].as_array().unwrap();
        assert_eq!(points.len(), 3 * 6, "three densities x six values of eta");
        for point in points {
            let va = point["va"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&va), "{point}");
        }
        assert!(out.join("eta.csv").exists() && out.join("final.npy").exists());
        assert_png(&out.join("eta.png"), 900, 640);
        assert_png(&out.join("snapshot.png"), 640, 640);
    } else if s["kind"] == "cbo" {
        let rate = s["success_rate"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&rate), "{rate}");
        assert!(out.join("consensus.csv").exists());
        assert_png(&out.join("success.png"), 900, 640);
    } else {
        let w2 = s["w2"].as_array().unwrap();
        assert!(
            w2.iter().skip(1).all(|w| w.as_f64().unwrap() > 0.0),
            "{w2:?}"
        );
        assert!(out.join("roughness.csv").exists());
        assert_png(&out.join("roughness.png"), 900, 640);
    }
}

#[test]
fn ou_summary_matches_the_exact_discrete_moments() {
    let out = scratch("ou-exact");
    let config = configs().join("ou.toml");
    let o = langevin(&[
        "--backend",
        "cpu",
        "run",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("trajectory-steps/s"), "{stdout}");
    let s = summary(&out);
    let n = s["trajectories"].as_f64().unwrap();
    let (theta, mu, sigma, x0, dt) = (1.0, 0.5, 0.8, 2.0, 0.0078125);
    let a: f64 = 1.0 - theta * dt;
    for (k, t) in s["times"].as_array().unwrap().iter().enumerate() {
        let steps = (t.as_f64().unwrap() / dt).round() as i32;
        let mean = a.powi(steps) * x0 + mu * (1.0 - a.powi(steps));
        let var = sigma * sigma * dt * (1.0 - a.powi(2 * steps)) / (1.0 - a * a);
        let got_mean = s["stats"]["x"]["mean"][k].as_f64().unwrap();
        let got_var = s["stats"]["x"]["var"][k].as_f64().unwrap_or(0.0);
        if steps == 0 {
            assert_eq!(got_mean, x0);
            continue;
        }
        assert!(
            (got_mean - mean).abs() <= 5.0 * (var / n).sqrt(),
            "mean at {t}: {got_mean} vs {mean}"
        );
        assert!(
            (got_var - var).abs() <= 5.0 * var * (2.0 / n).sqrt(),
            "var at {t}: {got_var} vs {var}"
        );
    }
    let npy = std::fs::read(out.join("final_state.npy")).unwrap();
    assert_eq!(&npy[..6], b"\x93NUMPY");
    let header_len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
    let header = String::from_utf8_lossy(&npy[10..10 + header_len]);
    assert!(header.contains("'shape': (262144, 1)"), "{header}");
    assert_eq!(npy.len(), 10 + header_len + 4 * 262144);
    assert_eq!((10 + header_len) % 64, 0);
}

#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn cpu_and_gpu_backends_agree() {
    if std::env::var("LANGEVIN_SKIP_GPU_TESTS").as_deref() == Ok("1") {
        return;
    }
    let config = configs().join("harmonic_trap_2d.toml");
    let mut means = Vec::new();
    for backend in ["cpu", "gpu"] {
        let out = scratch(&format!("agree-{backend}"));
        let o = langevin(&[
            "--backend",
            backend,
            "run",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(
            o.status.success(),
            "{backend}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let s = summary(&out);
        assert_eq!(s["backend"], backend);
        means.push(
            s["stats"]["x"]["mean"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect::<Vec<_>>(),
        );
    }
    // Per-trajectory differences come only from the normals (|dz| <= 9 * 2^-11, see
    // tests/engine.rs); the contraction k of the trap bounds their effect on x by
    // (sd0 + sqrt(2 kT) sqrt(dt) / (k dt)) * dz, and a mean moves no more.
    // x starts from normal(1, 0.1): the initial difference is sd0 * dz.
    let (k, kt, dt, sd0) = (2.0f64, 0.5f64, 0.001f64, 0.1);
    let bound = (sd0 + (2.0 * kt).sqrt() * dt.sqrt() / (k * dt)) * 9.0 / 2048.0;
    for (c, g) in means[0].iter().zip(&means[1]) {
        assert!((c - g).abs() <= bound, "{c} vs {g}");
    }
}

fn bad(args: &[&str], expect: &[&str]) {
    let o = langevin(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    for e in expect {
        assert!(err.contains(e), "{args:?}: `{err}` lacks `{e}`");
    }
}

fn with_edit(name: &str, from: &str, to: &str) -> PathBuf {
    edited("ou.toml", name, from, to)
}

fn edited(config: &str, name: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(configs().join(config)).unwrap();
    assert!(text.contains(from), "{from}");
    let path =
        std::env::temp_dir().join(format!("langevin-bad-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path
}

#[test]
fn bad_input_exits_with_status_2_and_says_what() {
    let out = scratch("bad");
    let o = out.to_str().unwrap();
    let run = |p: &PathBuf, expect: &[&str]| {
        bad(
            &[
                "--backend",
                "cpu",
                "run",
                p.to_str().unwrap(),
                "--out",
                o,
                "--quiet",
            ],
            expect,
        )
    };
    run(
        &with_edit("key", "dt = ", "dtt = "),
        &["unknown field `dtt`", "did you mean `dt`?"],
    );
    run(
        &with_edit("section", "[output]", "[outputs]"),
        &["unknown field `outputs`", "did you mean `output`?"],
    );
    run(
        &with_edit("type", "trajectories = 262144", "trajectories = \"many\""),
        &["ensemble.trajectories"],
    );
    run(
        &with_edit(
            "long",
            "drift = [\"theta * (mu - x)\"]",
            "drift = [\"x\", \"x\"]",
        ),
        &["model.drift", "2 expressions"],
    );
    run(
        &with_edit("name", "theta * (mu - x)", "thta * (mu - x)"),
        &[
            "model.drift[0]",
            "unknown name `thta`",
            "did you mean `theta`?",
            "^^^^",
        ],
    );
    run(
        &with_edit("div", "theta * (mu - x)", "x / (1 - 1)"),
        &["division by zero"],
    );
    run(
        &with_edit("range", "range = [-2.0, 3.0]", "range = [3.0, -2.0]"),
        &["output.histogram.range"],
    );
    run(
        &with_edit("dt", "dt = 0.0078125", "dt = -1"),
        &["solver.dt", "-1"],
    );
    run(
        &with_edit(
            "fp",
            "final_state = true",
            "first_passage = { var = \"x\", level = 1.0, direction = \"sideways\" }",
        ),
        &["output.first_passage.direction", "sideways"],
    );
    run(
        &with_edit(
            "fpvar",
            "final_state = true",
            "first_passage = { var = \"xx\", level = 1.0 }",
        ),
        &["output.first_passage.var", "did you mean `x`?"],
    );
    run(
        &with_edit("rk4", "\"euler_maruyama\"", "\"rk4\""),
        &["solver.scheme", "ODEs only"],
    );
    run(
        &with_edit("baoab", "\"euler_maruyama\"", "\"baoab\""),
        &["solver.scheme", "underdamped"],
    );
    run(
        &with_edit(
            "sweepname",
            "[output]",
            "sweep = { sgma = { values = [1.0, 2.0] } }\n[output]",
        ),
        &["ensemble.sweep.sgma", "did you mean `sigma`?"],
    );
    run(
        &with_edit(
            "sweepcount",
            "[output]",
            "sweep = { sigma = { values = [1.0, 2.0, 3.0] } }\n[output]",
        ),
        &["ensemble.trajectories", "multiple of the 3 sweep points"],
    );
    run(
        &with_edit("gamma", "[solver]", "gamma = 1.0\n[solver]"),
        &["model.gamma", "only a kind = \"langevin\" model"],
    );
    let langevin_edit =
        |name: &str, from: &str, to: &str| edited("underdamped_double_well.toml", name, from, to);
    run(
        &langevin_edit(
            "pot",
            "potential = \"(x^2 - a)^2 / 4\"",
            "potential = \"x^2 + p_x\"",
        ),
        &["model.potential", "momentum `p_x`"],
    );
    run(
        &langevin_edit("nopot", "potential = \"(x^2 - a)^2 / 4\"", ""),
        &["model.potential", "missing"],
    );
    run(
        &langevin_edit("mass", "mass = 1.0", "mass = 0.0"),
        &["model.mass", "must be > 0"],
    );
    run(
        &langevin_edit("potname", "(x^2 - a)^2 / 4", "(x^2 - aa)^2 / 4"),
        &["model.potential", "unknown name `aa`", "did you mean `a`?"],
    );
    bad(
        &["run", "/nonexistent/config.toml"],
        &["cannot read the config"],
    );
    let config = configs().join("ou.toml");
    bad(
        &[
            "--backend",
            "cpu",
            "run",
            config.to_str().unwrap(),
            "--out",
            "/proc/langevin-cannot-write",
        ],
        &["--out", "cannot be written"],
    );
}

#[test]
fn check_validates_every_example_config_of_every_kind() {
    let mut kinds = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(configs()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let o = langevin(&["check", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{}: {err}", path.display());
        let kind = err
            .split("valid kind = \"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_else(|| panic!("{}: no kind in `{err}`", path.display()));
        assert!(
            err.contains("memory"),
            "{}: no memory in `{err}`",
            path.display()
        );
        kinds.insert(kind.to_string());
    }
    let every: std::collections::BTreeSet<String> = langevin::kind::KINDS
        .iter()
        .map(|k| k.name.to_string())
        .collect();
    assert_eq!(kinds, every, "an example config for every kind");
}

#[test]
fn keys_of_another_kind_and_unknown_parameters_are_refused() {
    let run = |config: &str, set: &[&str], expect: &[&str]| {
        let path = configs().join(config);
        let mut args = vec!["--backend", "cpu", "run", path.to_str().unwrap(), "--quiet"];
        for s in set {
            args.extend(["--set", s]);
        }
        args.extend(["--out", "/nonexistent/never-written"]);
        bad(&args, expect);
    };
    run(
        "ou.toml",
        &["model.particles=64"],
        &["model.particles", "only kinds \"cbo\" or \"vicsek\""],
    );
    run(
        "ou.toml",
        &["model.coupling=3.0"],
        &["model.coupling", "only a kind = \"kuramoto\" model"],
    );
    run(
        "cbo_rastrigin.toml",
        &["model.potential=\"x^2\""],
        &["model.potential", "this is kind = \"cbo\""],
    );
    run(
        "kuramoto_lorentzian.toml",
        &["model.objective=sphere"],
        &["model.objective", "only a kind = \"cbo\" model"],
    );
    run(
        "double_well.toml",
        &["model.params.DD=0.2"],
        &["model.params.DD", "did you mean `D`?"],
    );
    run(
        "lorenz_zoo.toml",
        &["model.params.rh=20"],
        &["model.params.rh", "did you mean `rho`?"],
    );
    run(
        "phi4_kink.toml",
        &["solver.t0=1"],
        &["solver.t0", "this is kind = \"field\""],
    );
    run(
        "ou.toml",
        &["grid.points=[64]"],
        &["grid", "only kind \"field\" reads [grid]"],
    );
    run("ou.toml", &["kind=\"fluid\""], &["kind", "\"field\""]);
    for (flag, value) in [
        ("--shard", "0/2"),
        ("--max-memory", "1G"),
        ("--devices", "cpu"),
    ] {
        let path = configs().join("kuramoto_lorentzian.toml");
        bad(
            &["run", path.to_str().unwrap(), flag, value, "--quiet"],
            &[flag, "kind = \"kuramoto\"", "only kinds \"sde\""],
        );
    }
}

#[test]
fn a_parameter_no_expression_reads_is_warned_about() {
    let path = edited(
        "ou.toml",
        "unused",
        "params = { theta = 1.0, mu = 0.5, sigma = 0.8 }",
        "params = { theta = 1.0, mu = 0.5, sigma = 0.8, kappa = 2.0 }",
    );
    let o = langevin(&["check", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning: model.params.kappa is not used"),
        "{err}"
    );
    assert!(!err.contains("model.params.theta"), "{err}");
}

/// Numbers in two summaries agree: integers exactly, floats to `rel` relative (or absolute
/// near zero); timing, device and invocation fields are skipped.
fn assert_same_summary(a: &serde_json::Value, b: &serde_json::Value, path: &str, rel: f64) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                if [
                    "elapsed_s",
                    "setup_s",
                    "traj_steps_per_s",
                    "adapter",
                    "api",
                    "backend",
                    "driver",
                    "command",
                    "started",
                    "resumed",
                    "shards",
                ]
                .contains(&k.as_str())
                {
                    continue;
                }
                let w = y.get(k).unwrap_or_else(|| panic!("{path}.{k} missing"));
                assert_same_summary(v, w, &format!("{path}.{k}"), rel);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}");
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                assert_same_summary(v, w, &format!("{path}[{i}]"), rel);
            }
        }
        (Value::Number(x), Value::Number(y)) if x.is_u64() && y.is_u64() => {
            assert_eq!(x, y, "{path}")
        }
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= rel * x.abs().max(y.abs()).max(1e-3),
                "{path}: {x} against {y}"
            );
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

/// The double well (5000 trajectories; histogram and first passages) run whole, and split into
/// 4 and into 7 shards merged in scrambled order: the same summary (counts exactly, moments,
/// quantiles and first-passage statistics to 1e-12). Merging refuses a shard given twice
/// (overlapping ranges) and a shard of another seed, and kinds that do not split refuse
/// --shard before running.
#[test]
fn shards_merge_into_the_whole_run() {
    let config = configs().join("double_well.toml");
    let base = scratch("shards");
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "--backend",
            "cpu",
            "run",
            config.to_str().unwrap(),
            "--trajectories",
            "5000",
            "--set",
            "solver.t_end=2.0",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = langevin(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let whole = base.join("whole");
    run(&whole, &[]);
    for n in [4usize, 7] {
        let mut dirs: Vec<String> = Vec::new();
        for i in 0..n {
            let dir = base.join(format!("{n}-{i}"));
            run(&dir, &["--shard", &format!("{i}/{n}")]);
            assert!(dir.join("partial.json").exists());
            dirs.push(dir.to_str().unwrap().to_string());
        }
        dirs.reverse();
        dirs.swap(0, n / 2);
        let merged = base.join(format!("merged-{n}"));
        let mut args = vec!["merge", "--quiet", "--out", merged.to_str().unwrap()];
        args.extend(dirs.iter().map(String::as_str));
        let o = langevin(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (a, b) = (summary(&whole), summary(&merged));
        assert_eq!(b["trajectories"], 5000);
        assert_same_summary(&a, &b, "summary", 1e-12);
    }
    let shard0 = base.join("4-0");
    let twice = langevin(&[
        "merge",
        "--out",
        base.join("bad").to_str().unwrap(),
        shard0.to_str().unwrap(),
        shard0.to_str().unwrap(),
    ]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("overlap"));
    let other = base.join("other");
    run(&other, &["--shard", "1/4", "--seed", "99"]);
    let mixed = langevin(&[
        "merge",
        "--out",
        base.join("bad").to_str().unwrap(),
        shard0.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    assert_eq!(mixed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&mixed.stderr).contains("another config"));
    let field = langevin(&[
        "--backend",
        "cpu",
        "run",
        configs()
            .join("sine_gordon_breather.toml")
            .to_str()
            .unwrap(),
        "--shard",
        "0/2",
        "--out",
        base.join("bad").to_str().unwrap(),
    ]);
    assert_eq!(field.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&field.stderr).contains("--shard"));
}

/// Resume equals uninterrupted: the double well (200,000 trajectories to t = 2, pieces of
/// 4096 trajectories, a checkpoint after every piece) killed by SIGKILL at a point after its
/// first checkpoint, and stopped by SIGTERM (which writes the results so far, marked partial),
/// each then resumed: summary.json equal number for number to an uninterrupted run's. A
/// corrupt checkpoint and a resume with another config are refused.
#[cfg(unix)]
#[test]
fn resume_equals_uninterrupted() {
    use std::process::Stdio;
    let config = configs().join("double_well.toml");
    let base = scratch("resume");
    let args = |out: &Path| -> Vec<String> {
        [
            "--backend",
            "cpu",
            "run",
            config.to_str().unwrap(),
            "--trajectories",
            "200000",
            "--set",
            "solver.t_end=2.0",
            "--set",
            "output.final_state=true",
            "--checkpoint-every",
            "0",
            "--checkpoint-piece",
            "4096",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let whole = base.join("whole");
    let o = langevin(&args(&whole).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!whole.join("checkpoint.json").exists());
    let resume = |dir: &Path| {
        let o = langevin(&[
            "--backend",
            "cpu",
            "run",
            "--resume",
            dir.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_same_summary(&summary(&whole), &summary(dir), "summary", 0.0);
        assert!(summary(dir).get("partial").is_none());
    };
    for (signal, delay_ms) in [("KILL", 37u64), ("TERM", 11)] {
        let dir = base.join(signal);
        let mut child = Command::new(env!("CARGO_BIN_EXE_langevin"))
            .args(args(&dir))
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        while !dir.join("checkpoint.json").exists() {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let killed = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "{signal}: the run ended before the signal"
        );
        assert!(dir.join("checkpoint.json").exists());
        if signal == "TERM" {
            let s = summary(&dir);
            assert_eq!(s["partial"], true);
            assert!(s["trajectories"].as_u64().unwrap() < 200_000);
            assert_eq!(o_status_code(status), Some(143));
        }
        // The per-trajectory arrays are NPY files beside a small checkpoint.json.
        let c: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("checkpoint.json")).unwrap())
                .unwrap();
        let next = c["next"].as_u64().unwrap();
        for array in ["final_states", "first_passage"] {
            let file = dir.join(format!("checkpoint-{next}.{array}.npy"));
            assert_eq!(&std::fs::read(&file).unwrap()[..6], b"\x93NUMPY", "{array}");
        }
        assert!(c["partial"]["final_states"].is_null());
        resume(&dir);
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with("checkpoint"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
    // A device lost at the piece from trajectory 50,000 (injected): an error naming the
    // adapter and --resume, the finished pieces in the checkpoint, no summary that looks
    // complete; resumed, the same numbers as the uninterrupted run.
    let dir = base.join("lost");
    let mut lost_args = args(&dir);
    lost_args.drain(..2);
    let o = Command::new(env!("CARGO_BIN_EXE_langevin"))
        .args(&lost_args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("LANGEVIN_BACKEND", "cpu")
        .env("LANGEVIN_FAIL_DEVICE_AT", "50000")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("device error on CPU twin")
            && err.contains("device lost")
            && err.contains("the 49152 trajectories finished before it are saved")
            && err.contains("langevin run --resume"),
        "{err}"
    );
    assert!(dir.join("checkpoint.json").exists());
    assert!(!dir.join("summary.json").exists());
    resume(&dir);
    // A damaged checkpoint is refused, never used; so is another config.
    let dir = base.join("damaged");
    let mut child = Command::new(env!("CARGO_BIN_EXE_langevin"))
        .args(args(&dir))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while !dir.join("checkpoint.json").exists() {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let other = langevin(&[
        "run",
        configs().join("ou.toml").to_str().unwrap(),
        "--resume",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stderr).contains("another config"));
    let text = std::fs::read_to_string(dir.join("checkpoint.json")).unwrap();
    std::fs::write(dir.join("checkpoint.json"), &text[..text.len() / 2]).unwrap();
    let o = langevin(&["run", "--resume", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("corrupt"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The exit status of a process, or 128 + the signal that ended it (as a shell reports it).
fn o_status_code(status: std::process::ExitStatus) -> Option<i32> {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Some(128 + signal);
        }
    }
    status.code()
}

/// Waits for `child` at most `limit`; kills it and returns `None` past that.
fn wait_at_most(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    None
}

/// SIGTERM (CPU twin) and SIGINT (GPU) stop a run part way through its first piece of
/// trajectories (here the whole run: 4 * 10^9 trajectory-steps, minutes) within 5 s, with
/// exit status 143 and 130, a checkpoint that `--resume` accepts (it starts over from
/// trajectory 0, and is stopped the same way), no summary that looks complete, and a message
/// that says how to continue. The checkpoint keeps the first command line and start time and
/// lists the resumption.
#[cfg(unix)]
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn a_signal_stops_a_run_within_seconds() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let config = configs().join("double_well.toml");
    let base = scratch("signal");
    let stop = |args: Vec<String>, signal: &str| -> (Option<i32>, Duration, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_langevin"))
            .args(&args)
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let sent = Instant::now();
        let killed = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = wait_at_most(&mut child, Duration::from_secs(5));
        let waited = sent.elapsed();
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        let status = status.unwrap_or_else(|| {
            panic!("{signal}: still running {waited:?} after the signal; stderr: {err}")
        });
        (o_status_code(status), waited, err)
    };
    for (signal, backend, code) in [("TERM", "cpu", 143), ("INT", "gpu", 130)] {
        let dir = base.join(signal);
        let d = dir.to_str().unwrap().to_string();
        let args: Vec<String> = [
            "--backend",
            backend,
            "run",
            config.to_str().unwrap(),
            "--trajectories",
            "400000",
            "--set",
            "output.plots=false",
            "--quiet",
            "--out",
            &d,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (status, waited, err) = stop(args, signal);
        assert_eq!(status, Some(code), "{signal} after {waited:?}: {err}");
        assert!(
            err.contains(&format!("interrupted by SIG{signal}"))
                && err.contains(&format!("langevin run --resume {d}")),
            "{err}"
        );
        assert!(dir.join("checkpoint.json").exists());
        assert!(!dir.join("summary.json").exists());
        let resumed: Vec<String> = ["--backend", backend, "run", "--resume", &d, "--quiet"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (status, waited, err) = stop(resumed, signal);
        assert_eq!(
            status,
            Some(code),
            "{signal} resumed, after {waited:?}: {err}"
        );
        let c: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("checkpoint.json")).unwrap())
                .unwrap();
        assert_eq!(c["next"], 0);
        assert!(c["origin"]["command"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("--trajectories")));
        assert_eq!(c["resumed"].as_array().unwrap().len(), 1);
        assert!(c["resumed"][0]["command"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("--resume")));
    }
}

/// summary.json says what ran: the config as resolved (the `--set` value, the defaults
/// filled in), the engine version and git commit, the command line and the start time.
#[test]
fn summary_records_what_ran() {
    let dir = scratch("provenance");
    let o = langevin(&[
        "--backend",
        "cpu",
        "run",
        configs().join("ou.toml").to_str().unwrap(),
        "--trajectories",
        "640",
        "--set",
        "solver.dt=0.02",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = summary(&dir);
    assert_eq!(s["config"]["solver"]["dt"], 0.02, "{}", s["config"]);
    assert_eq!(s["config"]["ensemble"]["trajectories"], 640);
    assert!(s["config"]["output"]["plots"].is_boolean());
    assert_eq!(s["version"]["engine"], env!("CARGO_PKG_VERSION"));
    let commit = s["version"]["commit"].as_str().unwrap();
    assert!(
        commit == "unknown"
            || (commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit}"
    );
    let command: Vec<&str> = s["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        command.ends_with(&["--out", dir.to_str().unwrap()]),
        "{command:?}"
    );
    assert!(command.contains(&"solver.dt=0.02"));
    let started = s["started"].as_str().unwrap();
    assert!(
        started.len() == 20 && started.starts_with("20") && started.ends_with('Z'),
        "{started}"
    );
}

/// `langevin merge` of shards 0/3 and 2/3 is refused (status 2, naming the missing range and
/// --partial); with --partial it writes their 2 of 3 parts marked partial, listing the gap.
/// The merged summary names the shards' adapters, APIs and drivers (a GPU shard's, not the
/// CPU twin's) and each shard's command line.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn merge_refuses_gaps_and_names_the_adapters() {
    let config = configs().join("double_well.toml");
    let base = scratch("gaps");
    let shard = |i: usize, backend: &str| {
        let dir = base.join(format!("shard-{i}"));
        let o = langevin(&[
            "--backend",
            backend,
            "run",
            config.to_str().unwrap(),
            "--trajectories",
            "1920",
            "--set",
            "solver.t_end=0.5",
            "--shard",
            &format!("{i}/3"),
            "--quiet",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        dir.to_str().unwrap().to_string()
    };
    let dirs = [shard(0, "gpu"), shard(1, "cpu"), shard(2, "gpu")];
    let merged = base.join("merged");
    let m = merged.to_str().unwrap();
    let o = langevin(&["merge", "--quiet", "--out", m, &dirs[0], &dirs[2]]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("trajectories 640..1280") && err.contains("--partial"),
        "{err}"
    );
    assert!(!merged.join("summary.json").exists());
    let o = langevin(&[
        "merge",
        "--quiet",
        "--partial",
        "--out",
        m,
        &dirs[0],
        &dirs[2],
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = summary(&merged);
    assert_eq!(s["partial"], true);
    assert_eq!(s["trajectories"], 1280);
    assert_eq!(s["missing"], serde_json::json!([[640, 1280]]));
    let whole = base.join("whole");
    let w = whole.to_str().unwrap();
    let o = langevin(&["merge", "--quiet", "--out", w, &dirs[2], &dirs[0], &dirs[1]]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = summary(&whole);
    assert!(s.get("partial").is_none());
    let api = s["api"].as_str().unwrap();
    let driver = s["driver"].as_str().unwrap();
    assert!(api.contains("cpu") && api != "cpu", "{api}");
    assert!(
        driver.contains("rustc") && driver.contains(", "),
        "{driver}"
    );
    let shards = s["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 3);
    assert_eq!(
        shards.iter().filter(|x| x["backend"] == "gpu").count(),
        2,
        "{shards:?}"
    );
    assert!(shards.iter().all(|x| x["command"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("--shard"))));
    assert_eq!(s["config"]["ensemble"]["trajectories"], 1920);
}

/// With no --max-memory or --max-output, a run is bounded by the machine: 10^12 trajectories
/// keeping their final states (4 TB) are refused at once with the numbers and the flag to
/// raise; so is a run whose final states (4 MiB, and as many in its checkpoints) exceed
/// --max-output.
#[test]
fn default_bounds_refuse_a_run_too_big_for_the_machine() {
    let dir = scratch("too-big");
    let run = |extra: &[&str]| {
        let config = configs().join("ou.toml");
        let mut args: Vec<String> = [
            "--backend",
            "cpu",
            "run",
            config.to_str().unwrap(),
            "--set",
            "output.final_state=true",
            "--quiet",
            "--out",
            dir.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_langevin"))
            .args(&args)
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let status = wait_at_most(&mut child, std::time::Duration::from_secs(20));
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        (status.and_then(|s| s.code()), err)
    };
    let (code, err) = run(&["--trajectories", "1000000000000"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("4000000000000 bytes")
            && err.contains("this machine's memory")
            && err.contains("--max-memory"),
        "{err}"
    );
    let (code, err) = run(&["--trajectories", "1048576", "--max-output", "2M"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--max-output 2097152 bytes") && err.contains("8388608 bytes"),
        "{err}"
    );
    assert!(!dir.join("summary.json").exists());
}

/// A model that blows up in finite time (dx = x^3 dt + 0.1 dW from x = 1, blow-up at t = 1/2)
/// run past it: every trajectory is counted as diverged by the save at t = 1, none at t = 0,
/// stderr says so; a run where all diverged exits with status 3 after writing the results
/// unless `--on-diverge warn`, and `--on-diverge fail` exits with status 3 too.
#[test]
fn diverging_trajectories_are_counted_and_can_fail_the_run() {
    let dir = scratch("diverge");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("blowup.toml");
    std::fs::write(
        &config,
        "name = \"blowup\"\nkind = \"sde\"\n[model]\nstate = [\"x\"]\ndrift = [\"x^3\"]\n\
         diffusion = [\"0.1\"]\ninit = [\"1\"]\n[solver]\ndt = 0.001\nt_end = 2.0\n\
         [ensemble]\ntrajectories = 256\nseed = 1\n[output]\nsave_times = 5\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let out = dir.join("out");
        let mut args = vec![
            "--backend",
            "cpu",
            "run",
            config.to_str().unwrap(),
            "--quiet",
            "--out",
            out.to_str().unwrap(),
            "--overwrite",
        ];
        args.extend_from_slice(extra);
        (langevin(&args), summary(&out))
    };
    let (o, s) = run(&[]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(s["diverged"], 256);
    let (o, s) = run(&["--on-diverge", "warn"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(s["diverged"], 256);
    let by_time: Vec<u64> = s["diverged_by_time"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    // Euler-Maruyama lags the exact blow-up a little and the noise spreads it: some have
    // diverged by the save at t = 0.5 (measured 98), all by t = 1.
    assert_eq!(by_time[0], 0);
    assert!(by_time[1] > 0 && by_time[1] < 256, "{by_time:?}");
    assert_eq!(by_time[2..], [256, 256, 256]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("256 of 256 trajectories diverged") && stderr.contains("save time 0.5"),
        "{stderr}"
    );
    let (o, s) = run(&["--on-diverge", "fail"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--on-diverge fail"));
    assert_eq!(s["diverged"], 256);
}

/// The Slurm array script as a job array of 3 tasks numbered from 1 would run it, then merge:
/// 3000 trajectories, none twice.
#[test]
fn slurm_array_script_runs_its_shard() {
    let script = configs().join("../cluster/slurm_array.sh");
    let out = scratch("slurm");
    for task in 1..=3 {
        let o = Command::new("bash")
            .arg(&script)
            .args(["--trajectories", "3000"])
            .env("CONFIG", configs().join("double_well.toml"))
            .env("OUT", &out)
            .env("SLURM_ARRAY_TASK_ID", task.to_string())
            .env("SLURM_ARRAY_TASK_MIN", "1")
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .env("LANGEVIN", env!("CARGO_BIN_EXE_langevin"))
            .env("LANGEVIN_BACKEND", "cpu")
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let shards: Vec<String> = (0..3)
        .map(|i| {
            out.join(format!("shard-{i}-of-3"))
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let merged = out.join("merged");
    let mut args = vec!["merge", "--quiet", "--out", merged.to_str().unwrap()];
    args.extend(shards.iter().map(String::as_str));
    let o = langevin(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(summary(&merged)["trajectories"], 3000);
}

/// `langevin bench --size tiny`: every workload on both backends, checked, with a table and
/// a JSON report; an unknown workload is refused by name.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn bench_runs_every_workload_and_checks_it() {
    let dir = scratch("bench");
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("bench.json");
    let o = langevin(&[
        "bench",
        "--size",
        "tiny",
        "--repeats",
        "1",
        "--json",
        json.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("every check passed"), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["failed_checks"].as_array().unwrap().len(), 0);
    let rows = report["results"].as_array().unwrap();
    for workload in langevin::bench::WORKLOADS {
        for backend in ["gpu", "cpu"] {
            let row = rows
                .iter()
                .find(|r| r["workload"] == workload && r["backend"] == backend)
                .unwrap_or_else(|| panic!("no {workload} row on {backend}"));
            assert!(row["rate"].as_f64().unwrap() > 0.0, "{row}");
            assert!(row["setup_seconds"].as_f64().unwrap() >= 0.0, "{row}");
            assert_eq!(row["seconds_all"].as_array().unwrap().len(), 1);
            assert!(!row["check"].as_str().unwrap().is_empty());
            assert_eq!(row["gpu_over_cpu"].is_number(), backend == "gpu", "{row}");
        }
    }
    let bad = langevin(&["bench", "--only", "ou,nbody"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nbody"));
}

/// `--devices`: a run split over two CPU twins, piece by piece, equals the run on one (every
/// number); `all` runs on every GPU adapter present and equals the GPU backend's run; an
/// adapter that does not exist and a shard are refused.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn devices_split_a_run_into_the_same_result() {
    let config = configs().join("double_well.toml");
    let base = scratch("devices");
    let run = |out: &str, extra: &[&str]| {
        let dir = base.join(out);
        let mut args = vec![
            "run",
            config.to_str().unwrap(),
            "--trajectories",
            "20000",
            "--checkpoint-piece",
            "2048",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        let dir_text = dir.to_str().unwrap().to_string();
        let mut all: Vec<&str> = args;
        all.extend(["--out", &dir_text]);
        let o = langevin(&all);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        summary(&dir)
    };
    let one = run("one", &["--devices", "cpu"]);
    let two = run("two", &["--devices", "cpu,cpu"]);
    assert_same_summary(&one, &two, "summary", 0.0);
    let gpu = run("gpu", &["--devices", "gpu"]);
    let all = run("all", &["--devices", "all"]);
    assert_same_summary(&gpu, &all, "summary", 0.0);

    let o = langevin(&["run", config.to_str().unwrap(), "--devices", "gpu99"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("GPU adapters"));
    let o = langevin(&[
        "run",
        config.to_str().unwrap(),
        "--devices",
        "cpu,cpu",
        "--shard",
        "0/2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--devices"));
}

/// `--max-memory`: a run whose final states need more than half the bound is refused before
/// it starts, with the numbers; within the bound it runs; a malformed size is refused.
#[test]
fn max_memory_bounds_what_a_run_keeps() {
    let config = configs().join("ou.toml");
    let dir = scratch("max-memory");
    let run = |trajectories: &str, limit: &str| {
        langevin(&[
            "--backend",
            "cpu",
            "run",
            config.to_str().unwrap(),
            "--trajectories",
            trajectories,
            "--set",
            "output.final_state=true",
            "--max-memory",
            limit,
            "--quiet",
            "--out",
            dir.to_str().unwrap(),
        ])
    };
    // 2^20 trajectories keep 4 MiB of final states: more than half of 4M.
    let o = run("1048576", "4M");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--max-memory") && err.contains("4194304 bytes"),
        "{err}"
    );
    assert!(!dir.join("summary.json").exists());
    let o = run("65536", "4M");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run("65536", "4X");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("512M"));
}

/// `solver.precision = "f64"` for Dormand-Prince writes the final states as float64.
#[test]
fn f64_dopri5_writes_float64_final_states() {
    let out = scratch("lorenz-f64");
    let config = configs().join("lorenz_adaptive.toml");
    let o = langevin(&[
        "--backend",
        "cpu",
        "run",
        config.to_str().unwrap(),
        "--trajectories",
        "64",
        "--set",
        "solver.t_end=0.5",
        "--set",
        "solver.precision=\"f64\"",
        "--set",
        "solver.rtol=1e-10",
        "--set",
        "solver.atol=1e-10",
        "--set",
        "output.final_state=true",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let npy = std::fs::read(out.join("final_state.npy")).unwrap();
    let header_len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
    let header = String::from_utf8_lossy(&npy[10..10 + header_len]);
    assert!(
        header.contains("'<f8'") && header.contains("'shape': (64, 3)"),
        "{header}"
    );
    assert_eq!(npy.len(), 10 + header_len + 8 * 64 * 3);
}

/// Runs `langevin --backend cpu run CONFIG --quiet ARGS...` on the CPU twin.
fn run_cpu(config: &Path, args: &[&str]) -> Output {
    let mut all = vec![
        "--backend",
        "cpu",
        "run",
        config.to_str().unwrap(),
        "--quiet",
    ];
    all.extend_from_slice(args);
    langevin(&all)
}

/// The files of a folder, sorted (none when it does not exist).
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Every trajectory absorbed by t = 0.5 (drift 20 toward a barrier at 1): the statistics of
/// the save times with no trajectory left are empty in stats.csv and null in summary.json,
/// never a mean of 0, and stats.csv counts the sample of each.
#[test]
fn statistics_of_no_trajectory_are_empty() {
    let out = scratch("absorbed");
    let o = run_cpu(
        &configs().join("absorbing_barrier.toml"),
        &[
            "--trajectories",
            "1024",
            "--set",
            "model.params.v=20",
            "--set",
            "output.plots=false",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("stats.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "t,mean_x,var_x,count_x");
    assert_eq!(rows[1], "0,0,0,1024");
    assert_eq!(rows.len(), 10);
    for row in &rows[2..] {
        assert!(row.ends_with(",,,0"), "{row}");
    }
    let s = summary(&out);
    assert_eq!(s["stats"]["x"]["mean"][0], 0.0);
    for k in 1..9 {
        assert!(s["stats"]["x"]["mean"][k].is_null(), "{}", s["stats"]["x"]);
        assert_eq!(s["stats"]["x"]["count"][k], 0);
    }
}

/// A config `name` that leads out of runs/ (`..`, an absolute path) is refused with status
/// 2, and nothing is written.
#[test]
fn a_name_cannot_leave_the_runs_folder() {
    let cwd = scratch("escape").join("a").join("b");
    std::fs::create_dir_all(&cwd).unwrap();
    let absolute = cwd.join("absolute");
    let absolute_name = format!("name=\"{}\"", absolute.display());
    for set in ["name=\"../../escaped\"", &absolute_name, "name=\"\""] {
        let o = Command::new(env!("CARGO_BIN_EXE_langevin"))
            .current_dir(&cwd)
            .args(["--backend", "cpu", "run"])
            .arg(configs().join("ou.toml"))
            .args(["--trajectories", "64", "--quiet", "--set", set])
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{set}: {err}");
        assert!(err.contains("`name`"), "{set}: {err}");
    }
    assert!(!cwd.join("escaped").exists() && !cwd.join("../escaped").exists());
    assert!(!absolute.exists());
    assert_eq!(files_in(&cwd.join("runs")), Vec::<String>::new());
}

/// A folder holding a run is refused (status 2, the old run untouched); `--overwrite`
/// replaces the old run's files, leaving none of them beside the new ones; a run into a
/// folder that another run is writing is refused while that one runs.
#[test]
fn an_output_folder_holds_one_run() {
    let config = configs().join("double_well.toml");
    let base = scratch("reuse");
    let out = base.join("r");
    let o = out.to_str().unwrap();
    let first = run_cpu(
        &config,
        &[
            "--trajectories",
            "1024",
            "--set",
            "output.final_state=true",
            "--out",
            o,
        ],
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before = files_in(&out);
    assert!(
        before.contains(&"final_state.npy".to_string()),
        "{before:?}"
    );
    let again = run_cpu(
        &config,
        &["--trajectories", "1024", "--seed", "8", "--out", o],
    );
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--overwrite") && err.contains("holds another run"),
        "{err}"
    );
    assert_eq!(files_in(&out), before);
    assert_eq!(summary(&out)["seed"], 7);
    let o2 = run_cpu(
        &config,
        &[
            "--trajectories",
            "1024",
            "--seed",
            "8",
            "--set",
            "output.plots=false",
            "--set",
            "output.histogram.bins=10",
            "--out",
            o,
            "--overwrite",
        ],
    );
    assert!(
        o2.status.success(),
        "{}",
        String::from_utf8_lossy(&o2.stderr)
    );
    assert_eq!(summary(&out)["seed"], 8);
    assert_eq!(
        files_in(&out),
        ["histogram.csv", "stats.csv", "summary.json"],
        "the first run's files are gone"
    );
    assert_eq!(
        files_in(&base),
        ["r"],
        "no temporary or lock left beside it"
    );

    // A long run holds the folder; a second one into it is refused meanwhile.
    let busy = base.join("busy");
    let mut child = Command::new(env!("CARGO_BIN_EXE_langevin"))
        .args([
            "--backend",
            "cpu",
            "run",
            config.to_str().unwrap(),
            "--quiet",
        ])
        .args(["--trajectories", "4000000", "--out", busy.to_str().unwrap()])
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let staging = base.join(format!("busy.tmp-{}", child.id()));
    while !staging.exists() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let second = run_cpu(
        &config,
        &[
            "--trajectories",
            "64",
            "--out",
            busy.to_str().unwrap(),
            "--overwrite",
        ],
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(err.contains("another langevin run"), "{err}");
    // The killed run left its temporary folder; the next run into the folder removes it.
    let o3 = run_cpu(
        &config,
        &["--trajectories", "64", "--out", busy.to_str().unwrap()],
    );
    assert!(
        o3.status.success(),
        "{}",
        String::from_utf8_lossy(&o3.stderr)
    );
    assert_eq!(files_in(&base), ["busy", "r"]);
}

/// A disk that fills while the results are written (a file size limit: writes past 40 KiB
/// fail as on a full disk): the run fails, saying that nothing was written, and leaves no
/// folder and no temporary file.
#[cfg(unix)]
#[test]
fn a_failed_write_leaves_nothing_that_looks_complete() {
    let base = scratch("full");
    std::fs::create_dir_all(&base).unwrap();
    let out = base.join("r");
    let script = format!(
        "trap '' XFSZ; ulimit -f 40; exec \"$0\" --backend cpu run {} --trajectories 1024 --quiet --out {}",
        configs().join("double_well.toml").display(),
        out.display()
    );
    let o = Command::new("bash")
        .args(["-c", &script, env!("CARGO_BIN_EXE_langevin")])
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("nothing of this run was written"), "{err}");
    assert_eq!(files_in(&base), Vec::<String>::new(), "{err}");
}

/// A run where every trajectory diverges (a drift `x^3 + 100` that blows up within t = 0.1)
/// writes its results and exits with status 3, unless `--on-diverge warn` accepts it. (A NaN
/// that the parameters alone make, such as a negative D under sqrt(2 D), is refused before
/// the run: `a_nan_parameter_expression_exits_with_status_2`.)
#[test]
fn a_run_where_every_trajectory_diverged_fails() {
    let base = scratch("all-diverged");
    let config = configs().join("ou.toml");
    let run = |out: &str, extra: &[&str]| {
        let out = base.join(out);
        let mut args = vec![
            "--trajectories",
            "256",
            "--set",
            "model.drift=[\"x*x*x + 100\"]",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        (run_cpu(&config, &args), out)
    };
    let (o, out) = run("default", &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("every trajectory diverged"), "{err}");
    assert_eq!(summary(&out)["diverged"], 256);
    let (o, _) = run("warn", &["--on-diverge", "warn"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `--seed` takes any u64: 2^63 and 2^64 - 1 run (TOML integers stop at 2^63 - 1, so the
/// seed travels as a string of digits, as a config writes it), are recorded exactly, and give
/// other trajectories than seed 0; a negative or fractional seed in a config is refused.
#[test]
fn any_u64_is_a_seed() {
    let base = scratch("seeds");
    let config = configs().join("ou.toml");
    let mean_at_end = |seed: &str, how: &str| {
        let out = base.join(format!("{seed}-{how}"));
        let set = format!("ensemble.seed=\"{seed}\"");
        let pick: [&str; 2] = if how == "flag" {
            ["--seed", seed]
        } else {
            ["--set", &set]
        };
        let o = run_cpu(
            &config,
            &[
                "--trajectories",
                "256",
                pick[0],
                pick[1],
                "--set",
                "output.plots=false",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(
            o.status.success(),
            "{seed}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let s = summary(&out);
        assert_eq!(s["seed"].as_u64(), Some(seed.parse::<u64>().unwrap()));
        s["stats"]["x"]["mean"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_f64()
            .unwrap()
    };
    let zero = mean_at_end("0", "flag");
    let top = mean_at_end("9223372036854775808", "flag");
    assert_ne!(zero, top);
    assert_eq!(top, mean_at_end("9223372036854775808", "config"));
    mean_at_end("18446744073709551615", "flag");
    for bad in ["-1", "1.5"] {
        let out = base.join("bad");
        let o = run_cpu(
            &config,
            &[
                "--set",
                &format!("ensemble.seed={bad}"),
                "--out",
                out.to_str().unwrap(),
            ],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains("ensemble.seed") && err.contains("as a string"),
            "{err}"
        );
    }
}

/// Kuramoto and Vicsek runs with one replica per sweep point say that their standard errors
/// are NaN, and leave them empty in the CSV.
#[test]
fn a_single_replica_per_point_is_warned_about() {
    let base = scratch("single-replica");
    let cases: [(&str, &[&str], &str, &str); 2] = [
        (
            "kuramoto_lorentzian.toml",
            &[
                "--trajectories=9",
                "--set=solver.t_end=0.5",
                "--set=output.time_average.from=0.25",
            ],
            "coupling.csv",
            "r_std_error",
        ),
        (
            "vicsek.toml",
            &[
                "--trajectories=6",
                "--set=solver.t_end=20",
                "--set=output.time_average.from=10",
                "--set=model.particles=256",
                "--set=output.save_times=5",
            ],
            "eta.csv",
            "va_std_error",
        ),
    ];
    for (config, extra, csv, column) in cases {
        let out = base.join(config);
        let path = configs().join(config);
        let mut args = vec![
            "--backend",
            "cpu",
            "run",
            path.to_str().unwrap(),
            "--set=output.plots=false",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = langevin(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{config}: {err}");
        assert!(
            err.contains("ran a single replica") && err.contains(column),
            "{config}: {err}"
        );
        let text = std::fs::read_to_string(out.join(csv)).unwrap();
        let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
        let at = header.iter().position(|h| *h == column).unwrap();
        for row in text.lines().skip(1) {
            assert_eq!(row.split(',').nth(at), Some(""), "{config}: {row}");
        }
    }
}

/// A diffusion of parameters alone that is NaN with the config's values exits with status 2,
/// naming the field and the parameter, with a caret under the expression.
#[test]
fn a_nan_parameter_expression_exits_with_status_2() {
    let text = std::fs::read_to_string(configs().join("ou.toml")).unwrap();
    let text = text.replacen("sigma = 0.8", "sigma = -0.32", 1).replacen(
        "diffusion = [\"sigma\"]",
        "diffusion = [\"sqrt(2*sigma)\"]",
        1,
    );
    assert!(text.contains("sqrt(2*sigma)"), "{text}");
    let path = std::env::temp_dir().join(format!("langevin-nan-{}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    bad(
        &["check", path.to_str().unwrap()],
        &["model.diffusion[0]", "sigma = -0.32", "^^^^^^^^^^^^^"],
    );
}

/// `langevin compare` of two OU runs of different seeds writes compare.json with the
/// distances of each component (small: one law) and of the whole state; a run against itself
/// is at distance 0 with a KS p-value of 1; a folder without final states is refused (2).
#[test]
fn compare_measures_the_distance_between_two_runs() {
    let run = |name: &str, seed: &str| {
        let dir = scratch(name);
        let o = langevin(&[
            "--backend",
            "cpu",
            "run",
            configs().join("ou.toml").to_str().unwrap(),
            "--trajectories",
            "2048",
            "--seed",
            seed,
            "--set",
            "output.paths={ trajectories = 1024 }",
            "--quiet",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        dir
    };
    let (a, b) = (run("compare-a", "1"), run("compare-b", "2"));
    let json = scratch("compare").with_extension("json");
    let compare = |x: &Path, y: &Path| {
        langevin(&[
            "compare",
            x.to_str().unwrap(),
            y.to_str().unwrap(),
            "--quiet",
            "--out",
            json.to_str().unwrap(),
        ])
    };
    let o = compare(&a, &b);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(c["samples"], serde_json::json!([2048, 2048]));
    let x = &c["components"]["x"];
    for key in ["w1", "w2", "ks", "ks_pvalue", "mean_diff", "mean_diff_se"] {
        assert!(x[key].is_number(), "{key}: {c}");
    }
    // One law: the means within 5 SE; exact for any two samples, W2 >= W1 >= |mean difference|.
    let (w1, w2) = (x["w1"].as_f64().unwrap(), x["w2"].as_f64().unwrap());
    let (d, se) = (
        x["mean_diff"].as_f64().unwrap(),
        x["mean_diff_se"].as_f64().unwrap(),
    );
    assert!(d.abs() < 5.0 * se, "{x}");
    assert!(w2 >= w1 && w1 >= d.abs(), "{x}");
    assert!(c["sliced_w2"].is_number() && c["energy_distance"].is_number());
    let o = compare(&a, &a);
    assert!(o.status.success());
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(c["components"]["x"]["w1"], 0.0);
    assert_eq!(c["components"]["x"]["ks_pvalue"], 1.0);
    assert_eq!(c["energy_distance"], 0.0);
    // At a save time, from the saved paths of 1024 trajectories.
    let t = summary(&a)["times"][2].as_f64().unwrap();
    let at = |x: &Path, y: &Path, time: &str| {
        langevin(&[
            "compare",
            x.to_str().unwrap(),
            y.to_str().unwrap(),
            "--time",
            time,
            "--quiet",
            "--out",
            json.to_str().unwrap(),
        ])
    };
    let o = at(&a, &b, &t.to_string());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(c["samples"], serde_json::json!([1024, 1024]));
    assert_eq!(c["time"], t);
    let x = &c["components"]["x"];
    assert!(
        x["mean_diff"].as_f64().unwrap().abs() < 5.0 * x["mean_diff_se"].as_f64().unwrap(),
        "{x}"
    );
    bad(
        &[
            "compare",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--time",
            &(t + 0.123_456).to_string(),
        ],
        &["--time", "a path time"],
    );
    std::fs::remove_file(a.join("final_state.npy")).unwrap();
    let o = compare(&a, &b);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("final_state"));
}

/// Reads an NPY file's header and payload length.
fn npy_header(path: &Path) -> (String, usize) {
    let npy = std::fs::read(path).unwrap();
    let header_len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
    let header = String::from_utf8_lossy(&npy[10..10 + header_len]).to_string();
    (header, npy.len() - 10 - header_len)
}

/// Observables (with the potential `U` of a langevin model), their covariance and quantiles,
/// a histogram of an observable, and paths every few steps reach every file a user reads:
/// `stats.<name>` with `quantiles` (a list per save time), the CSV columns in the order
/// written, `covariance.npy` of shape (T, d + k, d + k), `paths.npy` with `paths_times.npy`.
#[test]
fn observables_quantiles_and_paths_are_written() {
    let out = scratch("duffing-observed");
    let o = run_cpu(
        &configs().join("duffing_energy.toml"),
        &[
            "--trajectories",
            "1024",
            "--set",
            "solver.t_end=2.0",
            "--set",
            "output.paths={ trajectories = 3, every = 7 }",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = summary(&out);
    let times = s["times"].as_array().unwrap().len();
    assert_eq!(s["quantile_levels"], serde_json::json!([0.1, 0.5, 0.9]));
    for name in ["x", "p_x", "energy", "kinetic", "right"] {
        let q = s["stats"][name]["quantiles"].as_array().unwrap();
        assert_eq!(q.len(), times, "{name}");
        assert!(q.iter().all(|row| row.as_array().unwrap().len() == 3));
        assert_eq!(s["stats"][name]["mean"].as_array().unwrap().len(), times);
    }
    // The energy is the kinetic energy plus U at every save time (to f32 rounding).
    let mean = |n: &str, k: usize| s["stats"][n]["mean"][k].as_f64().unwrap();
    assert!((mean("energy", 0) - mean("kinetic", 0) - (0.25 - 0.5)).abs() < 1e-6);
    assert_eq!(s["histogram"]["var"], "energy");
    let csv = std::fs::read_to_string(out.join("stats.csv")).unwrap();
    assert!(csv.starts_with(
        "t,mean_x,var_x,count_x,mean_p_x,var_p_x,count_p_x,mean_energy,var_energy,count_energy,\
         mean_kinetic,var_kinetic,count_kinetic,mean_right,var_right,count_right\n"
    ));
    let (cov, bytes) = npy_header(&out.join("covariance.npy"));
    assert!(cov.contains(&format!("'shape': ({times}, 5, 5)")), "{cov}");
    assert_eq!(bytes, 8 * times * 25);
    // 100 steps every 7: 0, 7, ..., 98 and 100.
    let (paths, bytes) = npy_header(&out.join("paths.npy"));
    assert!(
        paths.contains("'<f4'") && paths.contains("'shape': (3, 16, 2)"),
        "{paths}"
    );
    assert_eq!(bytes, 4 * 3 * 16 * 2);
    let (t, _) = npy_header(&out.join("paths_times.npy"));
    assert!(t.contains("'shape': (16,)"), "{t}");
    assert!(out.join("paths.png").exists());
    assert_eq!(s["histograms"][0]["var"], "kinetic");
    assert_eq!(s["histogram2d"]["vars"], serde_json::json!(["x", "p_x"]));
    let (h2, bytes) = npy_header(&out.join("histogram2d.npy"));
    assert!(
        h2.contains("'<u8'") && h2.contains("'shape': (60, 60)"),
        "{h2}"
    );
    assert_eq!(bytes, 8 * 3600);
    assert!(out.join("histogram2d.png").exists() && out.join("histograms.png").exists());
    // The final states were read for the histograms, not written.
    assert!(!out.join("final_state.npy").exists());
    // Each edit of the example is refused by `check`, naming the key.
    for (name, from, to, expect) in [
        (
            "hist-var",
            "var = \"energy\"",
            "var = \"enrgy\"",
            &["output.histogram.var", "did you mean `energy`"][..],
        ),
        (
            "obs-expr",
            "kinetic = \"0.5*p_x^2\"",
            "kinetic = \"0.5*q^2\"",
            &["output.observables.kinetic"],
        ),
        (
            "quantile-level",
            "quantiles = [0.1, 0.5, 0.9]",
            "quantiles = [0.1, 1.5]",
            &["output.quantiles"],
        ),
        (
            "paths-too-many",
            "covariance = true",
            "paths = { trajectories = 70000 }",
            &["output.paths.trajectories"],
        ),
    ] {
        let path = edited("duffing_energy.toml", name, from, to);
        bad(&["check", path.to_str().unwrap()], expect);
    }
}

/// `langevin compare RUN --law`: Brownian motion dx = 0.6 dW from 0 to t = 1 by Euler-Maruyama
/// is exactly N(0, 0.36): the one-sample KS test against normal(0, 0.6) does not reject
/// (p > 1e-4) and the mean difference is within 5 standard errors; against normal(0, 0.7), a
/// logistic CDF expression, and the same law shifted as a histogram file it rejects
/// (p < 1e-6); a law and a second run together are refused.
#[test]
fn compare_against_an_exact_law() {
    let config = std::env::temp_dir().join(format!("langevin-bm-{}.toml", std::process::id()));
    std::fs::write(
        &config,
        r#"
name = "bm"
[model]
state = ["x"]
drift = ["0"]
diffusion = ["0.6"]
init = ["0"]
[solver]
dt = 0.01
t_end = 1.0
[ensemble]
trajectories = 65536
seed = 8
[output]
save_times = 2
final_state = true
plots = false
"#,
    )
    .unwrap();
    let run = scratch("bm-law");
    let o = run_cpu(&config, &["--out", run.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json = scratch("law").with_extension("json");
    let against = |law: &str| -> serde_json::Value {
        let o = langevin(&[
            "compare",
            run.to_str().unwrap(),
            "--law",
            law,
            "--quiet",
            "--out",
            json.to_str().unwrap(),
        ]);
        assert!(
            o.status.success(),
            "{law}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
    };
    let c = against("normal(0, 0.6)");
    let x = &c["components"]["x"];
    assert_eq!(x["samples"], 65536);
    assert!(x["ks_pvalue"].as_f64().unwrap() > 1e-4, "{x}");
    let (d, se) = (
        x["mean_diff"].as_f64().unwrap(),
        x["mean_diff_se"].as_f64().unwrap(),
    );
    assert!(d.abs() < 5.0 * se, "{x}");
    assert!(x["w2"].as_f64().unwrap() >= x["w1"].as_f64().unwrap());
    let shifted = std::env::temp_dir().join(format!("langevin-law-{}.csv", std::process::id()));
    let mut csv = String::from("lo,hi,p\n");
    for b in 0..80 {
        let (lo, hi) = (-3.0 + 0.075 * f64::from(b), -3.0 + 0.075 * f64::from(b + 1));
        // N(0.05, 0.36) per bin, by the midpoint rule.
        let z = (0.5 * (lo + hi) - 0.05) / 0.6;
        csv.push_str(&format!("{lo},{hi},{}\n", (-0.5 * z * z).exp()));
    }
    std::fs::write(&shifted, csv).unwrap();
    for wrong in [
        "normal(0, 0.7)",
        "cdf(0.5 + 0.5 * tanh(x))",
        shifted.to_str().unwrap(),
    ] {
        let c = against(wrong);
        assert!(
            c["components"]["x"]["ks_pvalue"].as_f64().unwrap() < 1e-6,
            "{wrong}: {c}"
        );
    }
    bad(
        &[
            "compare",
            run.to_str().unwrap(),
            run.to_str().unwrap(),
            "--law",
            "normal(0, 1)",
        ],
        &["--law"],
    );
    bad(
        &["compare", run.to_str().unwrap(), "--law", "gamma(2)"],
        &["--law"],
    );
}

/// `auto` runs chains, CBO and fields on the CPU twin when the GPU adapter is a software one
/// (lavapipe, as in CI), where the twin is faster, and says so; Kuramoto and the ensembles stay
/// on the adapter. On a hardware adapter every kind stays on it.
#[test]
#[cfg_attr(langevin_no_gpu, ignore = "needs a GPU adapter")]
fn auto_takes_the_faster_backend_for_each_kind() {
    let run = |config: &str, args: &[&str]| {
        let out = scratch(&format!("auto-{config}"));
        let path = configs().join(format!("{config}.toml"));
        let mut all = vec![
            "run",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--overwrite",
        ];
        all.extend_from_slice(args);
        let o = Command::new(env!("CARGO_BIN_EXE_langevin"))
            .args(&all)
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .env_remove("LANGEVIN_BACKEND")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            summary(&out)["backend"].as_str().unwrap().to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    // Whether the adapter is a software one, from `langevin info` (its device type).
    let info = langevin(&["--backend", "gpu", "info"]);
    let software = String::from_utf8_lossy(&info.stdout)
        .lines()
        .any(|l| l.starts_with("type:") && l.trim_end().ends_with("Cpu"));
    let (backend, said) = run(
        "kpz_chain",
        &["--trajectories", "36", "--set", "solver.t_end=0.5"],
    );
    if software {
        assert_eq!(backend, "cpu", "{said}");
        assert!(said.contains("running on the CPU twin (auto"), "{said}");
    } else {
        assert_eq!(backend, "gpu", "{said}");
    }
    let (backend, said) = run(
        "kuramoto_lorentzian",
        &[
            "--trajectories",
            "9",
            "--set",
            "solver.t_end=0.5",
            "--set",
            "output.time_average.from=0.25",
        ],
    );
    assert_eq!(backend, "gpu", "{said}");
    let (backend, _) = run("ou", &["--trajectories", "1024"]);
    assert_eq!(backend, "gpu");
}
