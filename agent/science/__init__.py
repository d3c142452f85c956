"""The science of a campaign: the dataset, experimental design, fitting, the judge and the attack.

Knows nothing of the loop, the planners or the views: each function takes
arrays, expressions and records, and returns numbers and verdicts.
"""
