"""The campaign loop: the LangGraph graph, its nodes, the runner, control (lease, signals, stop requests), checkpoints, progress and configuration."""
