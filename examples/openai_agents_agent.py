import asyncio
from pathlib import Path

from agents import Agent, function_tool
from asyncfc.integrations.openai_agents import run


@function_tool
def read_file(path: str) -> str:
    """Read a text file."""
    return Path(path).read_text()


@function_tool
def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


agent = Agent(name="counter", model="gpt-4.1", tools=[read_file, word_count])
labels = {"read_file": {"reads": ["fs"]}, "word_count": {"reads": []}}
question = "How many words do README.md and docs/protocol.md have?"
if __name__ == "__main__":
    print(asyncio.run(run(agent, question, labels=labels)).final_output)
