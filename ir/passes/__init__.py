"""Passes over ``ir.Graph``: autodiff, simplify, fusion, memory planning."""
