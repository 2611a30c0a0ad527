"""The bundled demo school: ``load_demo_school()`` reads ``data/demo_school/``;
``python -m engine.demo.generate`` regenerates it deterministically."""

from engine.demo.loader import DemoSchool, default_demo_path, load_demo_school, read_evidence

__all__ = ["DemoSchool", "default_demo_path", "load_demo_school", "read_evidence"]
