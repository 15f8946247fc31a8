from pathlib import Path

from pydantic_ai import Agent, FunctionToolset
from asyncfc.integrations.pydantic_ai import AsyncFC


def read_file(path: str) -> str:
    """Read a text file."""
    return Path(path).read_text()


def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


tools = FunctionToolset([read_file, word_count])
labels = {"read_file": {"reads": ["fs"]}, "word_count": {"reads": []}}
agent = Agent("openai:gpt-4.1", capabilities=[AsyncFC(tools, labels=labels)])

if __name__ == "__main__":
    print(agent.run_sync("How many words do README.md and docs/protocol.md have?").output)
