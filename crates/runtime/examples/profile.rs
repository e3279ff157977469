//! Per-node profile of an ONNX model in tract: loads and optimizes it as
//! `SessionBuilder` does (input shape fixed, optional thread pool), runs it
//! a few times and prints where the time goes, node by node and per operator
//! kind, with each node's output shape. Meant for finding out whether a slow
//! forward pass comes from the exported graph (an op choice, an unfused op)
//! or from tract's kernels.
//!
//!     cargo run --release -p netsurgeon-runtime --example profile -- MODEL.onnx 1,3,451,451 [threads] [runs]
//!
//! `PROFILE_DETAIL=1` also prints the kernel tract chose for the slowest
//! nodes. The node times are wall-clock around each node's evaluation.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tract_onnx::prelude::*;

fn main() -> TractResult<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: profile MODEL.onnx N,C,H,W [threads] [runs]");
        std::process::exit(2);
    }
    let shape: Vec<usize> = args[2].split(',').map(|d| d.trim().parse().unwrap()).collect();
    let threads: usize = args.get(3).map_or(1, |t| t.parse().unwrap());
    let runs: usize = args.get(4).map_or(5, |r| r.parse().unwrap());

    let t = Instant::now();
    let model = tract_onnx::onnx()
        .model_for_path(&args[1])?
        .with_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), &shape))?
        .into_typed()?;
    let decluttered = model.clone().into_decluttered()?;
    let optimized = model.into_optimized()?;
    eprintln!("load + optimize: {:.2} s", t.elapsed().as_secs_f64());
    eprintln!("decluttered graph (what the ONNX graph means to tract):");
    for node in decluttered.nodes() {
        eprintln!("  {:>4} {:<28} {}", node.id, node.op().name(), node.name);
    }

    let options = RunOptions {
        // As SessionBuilder::threads: no pool for one thread.
        executor: (threads > 1).then(|| tract_onnx::prelude::multithread::Executor::multithread(threads)),
        ..Default::default()
    };
    let plan = optimized.into_runnable_with_options(&options)?;
    let input: Tensor = tract_ndarray::ArrayD::<f32>::from_elem(shape.clone(), 0.5).into();
    let mut state = tract_core::plan::SimpleState::new(&plan)?;
    state.run(tvec!(input.clone().into_tvalue()))?; // warm-up

    let mut per_node: HashMap<usize, Duration> = HashMap::new();
    let mut total = Duration::ZERO;
    for _ in 0..runs {
        let t = Instant::now();
        state.run_plan_with_eval(tvec!(input.clone().into_tvalue()), |ctx, op_state, node, inputs| {
            let t = Instant::now();
            let out = tract_core::plan::eval(ctx, op_state, node, inputs);
            *per_node.entry(node.id).or_default() += t.elapsed();
            out
        })?;
        total += t.elapsed();
    }
    let model = plan.model();
    let ms = |d: Duration| d.as_secs_f64() * 1e3 / runs as f64;
    println!("{} threads, {} runs: {:.1} ms per run", threads, runs, ms(total));
    let mut nodes: Vec<(usize, Duration)> = per_node.into_iter().collect();
    nodes.sort_by_key(|n| std::cmp::Reverse(n.1));
    println!("{:>9}  {:>5}  {:<24} {:<40} output", "ms/run", "%", "op", "node");
    for (id, d) in nodes.iter().take(40) {
        let node = model.node(*id);
        let fact = model
            .outlet_fact(OutletId::new(*id, 0))
            .map(|f| format!("{f:?}"))
            .unwrap_or_default();
        println!(
            "{:9.2}  {:5.1}  {:<24} {:<40} {}",
            ms(*d),
            100.0 * d.as_secs_f64() / total.as_secs_f64(),
            node.op().name(),
            node.name,
            fact
        );
    }
    if std::env::var_os("PROFILE_DETAIL").is_some() {
        for (id, _) in nodes.iter().take(6) {
            let node = model.node(*id);
            println!("== {} {:?}", node.name, node.op().info());
        }
    }
    let mut per_op: HashMap<String, Duration> = HashMap::new();
    for (id, d) in &nodes {
        *per_op.entry(model.node(*id).op().name().to_string()).or_default() += *d;
    }
    let mut ops: Vec<_> = per_op.into_iter().collect();
    ops.sort_by_key(|o| std::cmp::Reverse(o.1));
    println!("per operator:");
    for (op, d) in ops {
        println!(
            "{:9.2}  {:5.1}  {op}",
            ms(d),
            100.0 * d.as_secs_f64() / total.as_secs_f64()
        );
    }
    Ok(())
}
