"""Where hypotheses come from: the offline planner (reductions, templates, mutations), the LLM planner (client, schema, context) and formalization.

May use `science`; knows nothing of the loop or the views.
"""
