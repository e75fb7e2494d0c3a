"""``nnctl verify``: a run replayed from its recorded config and data, in a temporary place, by
``train``'s own functions, and compared with what the run recorded.

``segments``: the run's history as the trainings that made it (the first, each resume, each
``--more``), at the lengths they trained with; ``replay``: those segments trained again in a
temporary runs folder (``train_run``, then ``resume_run``), optionally interrupted at one more
step; ``compare``: arrays and recorded environments compared, and the tolerance used when the
environments differ; ``verdict``: ``verify_run``, the data check, the replays and the result.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["compare", "replay", "segments", "verdict"],
    submod_attrs={
        "compare": ["ArrayDiff", "EnvDiff", "compare_arrays", "environment_diffs", "tolerance"],
        "replay": ["Replay", "replay_run"],
        "segments": ["Segment", "plan_segments", "with_interruption"],
        "verdict": ["Verification", "check_data", "resume_step", "verify_run"],
    },
)
