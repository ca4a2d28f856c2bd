"""Streamlit widgets shared by the pages. Everything here reads the backend's plain data."""
