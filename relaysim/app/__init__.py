"""The planning-session explorer (`relaysim explore`): levers in the planner's words, live
paired results from the study layer, saved variants, and a take-away page.

levers (which levers a scenario offers) and session (the background runs, saving) need no
web framework; server.py is the Panel page (the optional extra `relaysim[app]`), export.py
the self-contained take-away page.
"""
