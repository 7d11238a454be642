"""Post candidates: sources -> prep (normalise, hash, score) -> queue, run by ``pipeline``.

Import the submodules directly (``from xbot.candidates.queue import CandidateQueue``); this
package imports nothing so that ``xbot health`` stays cheap.
"""
