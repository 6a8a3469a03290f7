"""The personal carbon account: methodologies, the event pipeline, points and levels.

The pure core (``expr``, ``methodology``, ``loader``, ``domain``, ``pipeline``, ``points``,
``recompute``) turns partner behaviour events into traceable milligrams of CO2e; the service
layer stores what it decides.
"""
