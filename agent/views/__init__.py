"""Reading a campaign back: summaries, the hypothesis log, `why`, plots, the HTML report and the dashboard.

Views read the store and `science`; they never import the loop, so
looking at a campaign cannot change it.
"""
